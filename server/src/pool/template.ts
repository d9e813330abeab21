import type { ToolSpec } from "@pyfleet/sdk/gen/pyfleet/pool/v1/tool_pb";
import { create } from "@bufbuild/protobuf";
import { ServerFrameSchema, type StartupFailed, type WorkerFrame } from "@pyfleet/protocol/gen/pyfleet/worker/v1/worker_pb";
import type { Link, LinkServer } from "./link/index.js";
import { describeExit, type ExitInfo, type PythonProcess } from "./process.js";

export interface TemplateEvents {
  /** The template is gone; its forked workers die with it (parent-death signal). */
  died(reason: string, startupFailure: StartupFailed | undefined, duringStartup: boolean): void;
  output(line: string, stream: "stdout" | "stderr"): void;
}

/** How long to wait for a template's report of a forked worker's exit. */
const CHILD_EXIT_WAIT_MS = 250;

/**
 * Fork mode: one Python process imports the adapter once and forks workers
 * from it on request, so N workers cost about one import and share its
 * memory copy-on-write.
 */
export class Template {
  tools: ToolSpec[] = [];
  /** Why forking from this template would not be safe; "" when it is (known once ready). */
  forkUnsafe = "";
  private link: Link | undefined;
  private readonly exits = new Map<number, ExitInfo>();
  private readonly exitWaiters = new Map<number, (exit: ExitInfo) => void>();
  private startupFailure: StartupFailed | undefined;
  private readyFlag = false;
  private dead = false;
  readonly ready: Promise<void>;

  private readonly process: PythonProcess;

  constructor(options: {
    linkServer: LinkServer;
    /** Starts the template process, which will present `token`. */
    spawn: (token: string) => PythonProcess;
    startupTimeoutMs: number;
    events: TemplateEvents;
  }) {
    this.events = options.events;
    let onLink: (link: Link) => void = () => {};
    const issued = options.linkServer.issue((_hello, link) => onLink(link));
    this.process = options.spawn(issued.token);
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.process.signal("SIGKILL");
        reject(new Error(`fork template not ready within ${options.startupTimeoutMs} ms`));
      }, options.startupTimeoutMs);
      onLink = (link) => {
        this.link = link;
        link.onFrame((frame) => {
          if (frame.frame.case === "ready") {
            clearTimeout(timer);
            this.tools = frame.frame.value.tools;
            this.forkUnsafe = frame.frame.value.forkUnsafe;
            this.readyFlag = true;
            resolve();
          } else {
            this.onFrame(frame);
          }
        });
        link.onClose(() => this.process.signal("SIGKILL"));
      };
      void this.process.exited.then((exit) => {
        clearTimeout(timer);
        issued.revoke();
        this.dead = true;
        const reason = `fork template ${describeExit(exit)}`;
        if (!this.readyFlag) reject(new TemplateStartupError(reason, this.startupFailure, exit));
        this.events.died(reason, this.startupFailure, !this.readyFlag);
        // Its children die with it, by their parent-death signal: not their adapter's doing.
        for (const [pid, resolveExit] of this.exitWaiters) resolveExit(this.exits.get(pid) ?? { signal: "SIGKILL", cause: reason });
        this.exitWaiters.clear();
      });
    });
    // Callers observe failure through ready or events.died.
    this.ready.catch(() => {});
  }

  private readonly events: TemplateEvents;

  get alive(): boolean {
    return !this.dead;
  }

  get pid(): number {
    return this.process.pid;
  }

  /** Workers asked for and not connected yet: if the template dies, they never will. */
  readonly forking = new Set<string>();

  /** Asks the template to fork a worker that will connect with `token`. */
  fork(token: string, workerId: string): void {
    this.forking.add(workerId);
    this.link?.send(create(ServerFrameSchema, { frame: { case: "fork", value: { token, workerId } } }));
  }

  /** The exit of a forked worker, as the template reports it (undefined if it does not within a moment). */
  childExit(pid: number): Promise<ExitInfo | undefined> {
    const known = this.exits.get(pid);
    if (known) {
      this.exits.delete(pid);
      return Promise.resolve(known);
    }
    if (this.dead) return Promise.resolve({ signal: "SIGKILL", cause: "its fork template had died" });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.exitWaiters.delete(pid);
        resolve(undefined);
      }, CHILD_EXIT_WAIT_MS);
      this.exitWaiters.set(pid, (exit) => {
        clearTimeout(timer);
        resolve(exit);
      });
    });
  }

  /** Stops the template (its forked workers are stopped separately). */
  async stop(graceMs: number): Promise<void> {
    if (this.dead) return;
    this.link?.send(create(ServerFrameSchema, { frame: { case: "shutdown", value: { graceMs } } }));
    const timer = setTimeout(() => this.process.signal("SIGKILL"), graceMs + 1_000);
    await this.process.exited;
    clearTimeout(timer);
  }

  kill(): void {
    this.process.signal("SIGKILL");
  }

  private onFrame(frame: WorkerFrame) {
    switch (frame.frame.case) {
      case "childExited": {
        const { pid, exitCode, signal } = frame.frame.value;
        const exit: ExitInfo = signal ? { signal: signalName(signal) } : { exitCode };
        const waiter = this.exitWaiters.get(pid);
        if (waiter) {
          this.exitWaiters.delete(pid);
          waiter(exit);
        } else {
          this.exits.set(pid, exit);
          // Nobody asked within the moment; forget it later so the map stays small.
          setTimeout(() => this.exits.delete(pid), 10_000).unref();
        }
        return;
      }
      case "startupFailed":
        this.startupFailure = frame.frame.value;
        return;
      case "log":
        this.events.output(frame.frame.value.message, frame.frame.value.logger === "stderr" ? "stderr" : "stdout");
        return;
      default:
        return;
    }
  }
}

export class TemplateStartupError extends Error {
  constructor(message: string, readonly startupFailure: StartupFailed | undefined, readonly exit: ExitInfo) {
    super(message);
  }
}

const SIGNALS: Record<number, string> = { 1: "SIGHUP", 2: "SIGINT", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 11: "SIGSEGV", 13: "SIGPIPE", 15: "SIGTERM" };

function signalName(signal: number): string {
  return SIGNALS[signal] ?? `signal ${signal}`;
}

