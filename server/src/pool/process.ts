import { execa, type ResultPromise } from "execa";

export interface ExitInfo {
  exitCode?: number;
  signal?: string;
  /** Set when the process could not be started at all (e.g. python not found). */
  spawnError?: string;
  /** What made it exit, when known (a forked worker's template died). */
  cause?: string;
}

/** A Python process running in its own process group. */
export interface PythonProcess {
  readonly pid: number;
  /** Resolves once the process has exited; never rejects. */
  readonly exited: Promise<ExitInfo>;
  readonly exitInfo: ExitInfo | undefined;
  /** The last lines the process wrote to its real stderr (before it redirected it, or a native crash dump). */
  stderrTail(): string;
  /** Signals the whole process group; a no-op once it is gone. */
  signal(signal: NodeJS.Signals): void;
}

export interface SpawnOptions {
  python: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  /** Each line of the process's real stdout and stderr. */
  onOutput?: (line: string, stream: "stdout" | "stderr") => void;
}

const TAIL_LINES = 40;

/** Describes how a process ended, for people: "exit code 3", "killed by SIGSEGV". */
export function describeExit(info: ExitInfo | undefined): string {
  if (!info) return "still running";
  if (info.spawnError) return info.spawnError;
  if (info.signal) return `killed by ${info.signal}${info.cause ? ` (${info.cause})` : ""}`;
  return `exit code ${info.exitCode}`;
}

/**
 * Starts Python as the leader of a new process group, with a stdin pipe the
 * child watches: when this process dies the pipe closes and the child exits.
 */
export function spawnPython(options: SpawnOptions): PythonProcess {
  const tail: string[] = [];
  let exitInfo: ExitInfo | undefined;
  const child: ResultPromise = execa(options.python, options.args, {
    env: { ...options.env, PYFLEET_PARENT_PID: String(process.pid) },
    cwd: options.cwd,
    detached: true,
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    buffer: false,
    reject: false,
    stripFinalNewline: false,
    // execa's exit hook still kills the group when this process exits normally.
    cleanup: true,
  });
  const pid = child.pid ?? -1;

  const lines = (stream: "stdout" | "stderr") => {
    let partial = "";
    return (chunk: Buffer) => {
      const text = partial + chunk.toString("utf8");
      const parts = text.split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) {
        if (stream === "stderr") {
          tail.push(line);
          if (tail.length > TAIL_LINES) tail.shift();
        }
        options.onOutput?.(line, stream);
      }
    };
  };
  child.stdout?.on("data", lines("stdout"));
  child.stderr?.on("data", lines("stderr"));
  // The child may die before reading stdin; a broken pipe is not our error.
  child.stdin?.on("error", () => {});

  const exited = child.then(
    (result) => {
      exitInfo = result.failed && result.exitCode === undefined && !result.signal
        ? { spawnError: `could not start ${options.python}: ${result.originalMessage ?? result.shortMessage}` }
        : { exitCode: result.exitCode, signal: result.signal };
      return exitInfo;
    },
    (e: unknown) => {
      exitInfo = { spawnError: `could not start ${options.python}: ${(e as Error).message}` };
      return exitInfo;
    },
  );

  return {
    pid,
    exited,
    get exitInfo() {
      return exitInfo;
    },
    stderrTail: () => tail.join("\n"),
    signal(signal) {
      if (exitInfo || pid <= 0) return;
      signalGroup(pid, signal);
    },
  };
}

/** Sends a signal to a process group; ignores groups that are already gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  }
}
