import type { ToolSpec } from "@pyfleet/sdk/gen/pyfleet/pool/v1/tool_pb";
import type { PoolCore } from "./core.js";
import type { LinkServer } from "./link/index.js";
import type { PythonProcess } from "./process.js";
import { Template } from "./template.js";

/** What the start mode needs from the supervisor. */
export interface StartModeHooks {
  /** Starts the template's process presenting `token` (the supervisor's one place for a worker's command line). */
  spawnTemplate(templateId: string, token: string): PythonProcess;
  /** A template's output line. */
  output(templateId: string, line: string, stream: "stdout" | "stderr"): void;
  /** The template's tools, before any worker reported them. */
  tools(tools: ToolSpec[]): void;
  /** "auto" decided (or failed to): workers can start now. */
  decided(): void;
}

/**
 * How a pool's local workers start, and the fork template they start from:
 * `fork` (from a template that imported the adapter once), `spawn`, or `auto`
 * (a template reports whether forking is safe, and the pool forks or spawns).
 */
export class StartMode {
  private current: Template | undefined;
  private starting: Promise<Template> | undefined;
  /** With startMode "auto", undecided until a template reports whether forking is safe. */
  private chosen: "spawn" | "fork" | undefined;
  private deciding = false;

  constructor(
    private readonly core: PoolCore,
    private readonly linkServer: LinkServer,
    private readonly hooks: StartModeHooks,
  ) {
    if (core.config.startMode !== "auto") this.chosen = core.config.startMode;
    // Forked workers would all inherit the template's CUDA_VISIBLE_DEVICES
    // (config refuses startMode fork with gpus): each GPU worker is spawned.
    if (core.config.gpus) this.chosen = "spawn";
  }

  /** "spawn" or "fork"; undefined while "auto" has not decided. */
  get mode(): "spawn" | "fork" | undefined {
    return this.chosen;
  }

  /** The start mode as configured, and for "auto" what it decided. */
  get inUse(): string {
    const mode = this.core.config.startMode;
    return mode === "auto" ? `auto${this.chosen ? `: ${this.chosen}` : ""}` : mode;
  }

  /** The live fork template, if any. */
  get template(): Template | undefined {
    return this.current;
  }

  /**
   * startMode "auto": a template imports the adapter and says whether forking
   * from it is safe; workers are forked from it if so, spawned if not (or if
   * the template cannot start: spawned workers then report why, as usual).
   */
  decide(): void {
    if (this.deciding) return;
    this.deciding = true;
    const { logger, name } = this.core;
    this.ensureTemplate().then(
      (template) => {
        if (!template.forkUnsafe) {
          this.chosen = "fork";
          return;
        }
        this.chosen = "spawn";
        logger.warn({ pool: name, reason: template.forkUnsafe },
          `pool "${name}": ${template.forkUnsafe}, so its workers are spawned, not forked (startMode fork forks anyway)`);
        if (this.current === template) this.current = undefined;
        void template.stop(500);
      },
      (e: unknown) => {
        this.chosen = "spawn";
        if (!this.core.closing) logger.warn({ pool: name, err: e }, `pool "${name}": the fork template did not start, so its workers are spawned`);
      },
    ).finally(() => {
      this.deciding = false;
      this.hooks.decided();
    });
  }

  /** The ready template, started if there is none. */
  ensureTemplate(): Promise<Template> {
    if (this.current?.alive) return this.current.ready.then(() => this.current!);
    this.starting ??= (async () => {
      const templateId = `${this.core.name}-template`;
      const template = new Template({
        linkServer: this.linkServer,
        spawn: (token) => this.hooks.spawnTemplate(templateId, token),
        startupTimeoutMs: this.core.config.startupTimeoutMs,
        events: {
          died: (reason) => {
            if (this.current === template) this.current = undefined;
            for (const id of template.forking) this.core.workers.get(id)?.forkLost(reason);
            template.forking.clear();
            if (!this.core.closing) this.core.logger.warn({ reason }, `fork template died: ${reason}`);
          },
          output: (line, stream) => this.hooks.output(templateId, line, stream),
        },
      });
      this.current = template;
      try {
        await template.ready;
        if (template.tools.length > 0 && this.core.tools.size === 0) this.hooks.tools(template.tools);
        return template;
      } finally {
        this.starting = undefined;
      }
    })();
    return this.starting;
  }

  /** Stops the template (its forked workers get their parent-death signal). */
  async stop(): Promise<void> {
    await this.current?.stop(500);
  }
}
