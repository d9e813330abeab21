/**
 * A single-consumer async queue with a bound: what one side pushes, the
 * other iterates. Pushing past the bound ends the stream with an error rather
 * than growing memory.
 */
export class BoundedChannel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: ((r: IteratorResult<T>) => void) | undefined;
  private waiterReject: ((e: unknown) => void) | undefined;
  private ended = false;
  private error: unknown;
  private readonly doneListeners: (() => void)[] = [];
  private doneFired = false;

  constructor(
    private readonly capacity: number,
    private readonly overflow: () => Error,
  ) {}

  get buffered(): number {
    return this.items.length;
  }

  /** Queues an item; false when the channel is closed. */
  push(item: T): boolean {
    if (this.ended) return false;
    if (this.waiter) {
      const resolve = this.waiter;
      this.waiter = this.waiterReject = undefined;
      resolve({ value: item, done: false });
      return true;
    }
    if (this.items.length >= this.capacity) {
      this.fail(this.overflow());
      return false;
    }
    this.items.push(item);
    return true;
  }

  /** Takes up to `max` queued items from the front while `fits` holds, without waiting. */
  takeReady(max: number, fits: (item: T) => boolean): T[] {
    let n = 0;
    while (n < max && n < this.items.length && fits(this.items[n]!)) n++;
    return n === 0 ? [] : this.items.splice(0, n);
  }

  /** Ends the stream once the queued items are consumed. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.wake();
  }

  /** Ends the stream with an error once the queued items are consumed. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.wake();
  }

  /** Called once when the consumer has finished (drained, failed, or left). */
  onDone(listener: () => void): void {
    this.doneListeners.push(listener);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const item = this.items.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.ended) {
          this.done();
          return this.error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(this.error);
        }
        return new Promise((resolve, reject) => {
          this.waiter = resolve;
          this.waiterReject = reject;
        });
      },
      return: () => {
        this.ended = true;
        this.items.length = 0;
        this.done();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  private wake() {
    if (!this.waiter) return;
    const resolve = this.waiter;
    const reject = this.waiterReject!;
    this.waiter = this.waiterReject = undefined;
    this.done();
    if (this.error === undefined) resolve({ value: undefined, done: true });
    else reject(this.error);
  }

  private done() {
    if (this.doneFired) return;
    this.doneFired = true;
    for (const listener of this.doneListeners) listener();
  }
}
