// `pyfleet serve` as a real process (the CLI from source), for what only a
// process shows: SIGKILL, replicas on one store, --processes. Its JSON log is
// read line by line, so a test waits for what the server says, as it says it.
import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { onTestFinished } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A line of the server's JSON log: the fields tests read. */
export interface LogEntry {
  msg?: string;
  url?: string;
  replica?: string;
  replicas?: string[];
  pid?: number;
}

export interface ServeProcess {
  child: ChildProcess;
  /** The URL from the line that said it listens. */
  url: string;
  /** That line. */
  listened: LogEntry;
  /** Its exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Every log line, as "entry": listen before causing what the test waits for. */
  log: EventEmitter<{ entry: [LogEntry] }>;
}

const isListening = (entry: LogEntry) => entry.msg?.startsWith("pyfleet listening") === true;

/**
 * Starts `pyfleet serve ...args` (SIGKILLed when the test ends) and resolves
 * once a log line with a URL says it listens: its "pyfleet listening" line, or
 * the line `listening` accepts (the primary's, with --processes). `onLog` sees
 * every line, those before too.
 */
export function startServe(
  args: string[],
  options: { onLog?: (entry: LogEntry) => void; listening?: (entry: LogEntry) => boolean } = {},
): Promise<ServeProcess> {
  const child = spawn(process.execPath, ["--conditions=pyfleet-source", "--import", "tsx", "server/src/cli/main.ts", "serve", ...args], {
    cwd: ROOT, stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  onTestFinished(async () => {
    child.kill("SIGKILL");
    await exited;
  });
  const listening = options.listening ?? isListening;
  const log = new EventEmitter<{ entry: [LogEntry] }>();
  return new Promise((resolve, reject) => {
    void exited.then(() => reject(new Error(`pyfleet serve ${args.join(" ")} exited before listening`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let entry: LogEntry;
      try {
        entry = JSON.parse(line) as LogEntry;
      } catch {
        return;
      }
      options.onLog?.(entry);
      log.emit("entry", entry);
      if (entry.url && listening(entry)) resolve({ child, url: entry.url, listened: entry, exited, log });
    });
  });
}

/** The next log line `matches` accepts (listen before causing it); fails after `timeoutMs` naming `what`. */
export function nextLog(server: Pick<ServeProcess, "log">, matches: (entry: LogEntry) => boolean, timeoutMs: number, what: string): Promise<LogEntry> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      server.log.off("entry", onEntry);
      reject(new Error(`pyfleet serve did not log ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onEntry = (entry: LogEntry) => {
      if (!matches(entry)) return;
      clearTimeout(timer);
      server.log.off("entry", onEntry);
      resolve(entry);
    };
    server.log.on("entry", onEntry);
  });
}
