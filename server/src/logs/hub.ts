import { type LogFilter, type LogViewer, matches } from "./filter.js";
import type { LogInput, LogRecord, LogSink } from "./record.js";
import { Ring } from "./ring.js";

export interface LogHubOptions {
  /** Records held for readers that ask for the past (the newest ones). */
  bufferRecords: number;
  /** Bytes of messages held at most; the oldest go first when over. */
  bufferBytes: number;
  /** Records a following reader may be behind before it loses the oldest. */
  readerQueue: number;
  /** Longer messages are cut to this many bytes (UTF-8). */
  maxMessageBytes: number;
}

/** One message's worth for a reader. */
export interface LogBatch {
  /** Oldest first. */
  records: LogRecord[];
  /** Records this reader lost since the previous batch (it read too slowly). */
  dropped: number;
}

export interface WatchLogsOptions {
  filter: LogFilter;
  viewer: LogViewer;
  /** After the held records, wait for new ones until `signal` aborts or the hub closes. */
  follow: boolean;
  /** Only the newest `tail` held records; default all. */
  tail?: number;
  signal: AbortSignal;
  /** Records per batch at most; default 256. */
  maxBatch?: number;
}

/** A record's rough cost in memory: its strings and the object around them. */
const OVERHEAD_BYTES = 160;
const sizeOf = (r: LogRecord) => r.message.length + r.logger.length + r.sessionId.length + r.requestId.length + OVERHEAD_BYTES;

/** A following reader: its own bounded queue, so it never holds anyone up. */
class Reader {
  readonly queue: Ring<LogRecord>;
  dropped = 0;
  ended = false;
  private wake: (() => void) | undefined;

  constructor(readonly filter: LogFilter, readonly viewer: LogViewer, capacity: number) {
    this.queue = new Ring(capacity);
  }

  /** Queues `record` if it matches; true when that dropped the oldest. */
  offer(record: LogRecord): boolean {
    if (!matches(record, this.filter, this.viewer)) return false;
    const dropped = this.queue.push(record) !== undefined;
    if (dropped) this.dropped++;
    this.notify();
    return dropped;
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  /** Resolves when a record is queued, the hub closes or `signal` aborts. */
  next(signal: AbortSignal): Promise<void> {
    if (this.queue.size > 0 || this.ended || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener("abort", done);
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }

  private notify() {
    this.wake?.();
  }
}

/**
 * The server's recent worker output, in memory and bounded: a ring of the
 * newest records for readers that ask for the past, and for each following
 * reader a bounded queue. Writing never waits: a reader that falls behind
 * loses its oldest unread records and is told how many in its next batch.
 */
export class LogHub implements LogSink {
  private readonly buffer: Ring<LogRecord>;
  private bytes = 0;
  private seq = 0;
  private droppedTotal = 0;
  private readonly readers = new Set<Reader>();
  private closed = false;

  constructor(readonly options: LogHubOptions) {
    this.buffer = new Ring(options.bufferRecords);
  }

  /** Records written so far (the last record's seq). */
  get written(): number {
    return this.seq;
  }

  /** Following readers now. */
  get readerCount(): number {
    return this.readers.size;
  }

  /** Records following readers lost so far because they read too slowly. */
  get dropped(): number {
    return this.droppedTotal;
  }

  write(input: LogInput): void {
    const record: LogRecord = { ...input, message: cut(input.message, this.options.maxMessageBytes), seq: ++this.seq, time: Date.now() };
    this.bytes += sizeOf(record);
    const evicted = this.buffer.push(record);
    if (evicted) this.bytes -= sizeOf(evicted);
    while (this.bytes > this.options.bufferBytes && this.buffer.size > 0) this.bytes -= sizeOf(this.buffer.shift()!);
    for (const reader of this.readers) if (reader.offer(record)) this.droppedTotal++;
  }

  /** The held records that match, oldest first (the newest `tail` of them when given). */
  held(filter: LogFilter, viewer: LogViewer, tail?: number): LogRecord[] {
    if (tail === 0) return [];
    const out: LogRecord[] = [];
    for (const record of this.buffer) if (matches(record, filter, viewer)) out.push(record);
    return tail === undefined || out.length <= tail ? out : out.slice(out.length - tail);
  }

  /** The held records that match, then with `follow` new ones as they come. */
  async *watch(options: WatchLogsOptions): AsyncGenerator<LogBatch> {
    const max = options.maxBatch ?? 256;
    // Taken in one turn with subscribing: no record falls between the two.
    const held = this.held(options.filter, options.viewer, options.tail);
    const reader = options.follow && !this.closed ? new Reader(options.filter, options.viewer, this.options.readerQueue) : undefined;
    if (reader) this.readers.add(reader);
    try {
      for (let i = 0; i < held.length; i += max) {
        if (options.signal.aborted) return;
        yield { records: held.slice(i, i + max), dropped: 0 };
      }
      if (!reader) return;
      for (;;) {
        await reader.next(options.signal);
        if (options.signal.aborted || (reader.ended && reader.queue.size === 0)) return;
        const records = reader.queue.take(max);
        const dropped = reader.dropped;
        reader.dropped = 0;
        yield { records, dropped };
      }
    } finally {
      if (reader) this.readers.delete(reader);
    }
  }

  /** Ends every following reader (after what it has queued); later watches send the held records only. */
  close(): void {
    this.closed = true;
    for (const reader of this.readers) reader.end();
  }
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** `message` cut to `max` UTF-8 bytes, saying how much was cut. */
function cut(message: string, max: number): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes: most messages need no encoding to know they fit.
  if (message.length * 3 <= max) return message;
  const bytes = utf8.encode(message);
  if (bytes.length <= max) return message;
  // A cut inside a character decodes to U+FFFD, which is dropped.
  const kept = utf8Decoder.decode(bytes.subarray(0, max)).replace(/\uFFFD$/, "");
  return `${kept}... (${bytes.length - max} more bytes cut)`;
}
