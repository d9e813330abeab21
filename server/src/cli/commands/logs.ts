import type { Command } from "commander";
import type { ComputeLogLine, LogLevelName, LogRecord } from "@pyfleet/sdk";
import { client, globals, interruptible, run, UsageError } from "../context.js";
import { toJsonText } from "../output.js";

const LEVELS = ["debug", "info", "warning", "error"];

export function tailOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`--tail must be a whole number of records (got "${text}")`);
  return Number(text);
}

/** One line for people: time, level, where (pool/worker, session, tool, request), message. */
export function formatRecord(r: LogRecord): string {
  const where = [`${r.pool}/${r.workerId}`, r.sessionId && `session=${r.sessionId}`, r.tool && `tool=${r.tool}`, r.requestId && `request=${r.requestId}`]
    .filter(Boolean).join(" ");
  const dropped = r.droppedBefore > 0 ? `(${r.droppedBefore} records dropped: this reader was too slow)\n` : "";
  return `${dropped}${r.time.toISOString()} ${r.level.toUpperCase().padEnd(7)} ${where} ${r.message}`;
}

/** One line of a machine's log for people: time, [source], text. */
export function formatComputeLine(l: ComputeLogLine): string {
  return [l.time?.toISOString(), l.source && `[${l.source}]`, l.text].filter(Boolean).join(" ");
}

export function logsCommands(program: Command): void {
  program
    .command("logs")
    .description("print what the pools' workers printed and logged, one line per record (--follow waits for more; Ctrl-C stops)")
    .option("--pool <name>", "only this pool (default: every pool)", "")
    .option("--worker <id>", "only this worker", "")
    .option("--session <id>", "only this session's calls", "")
    .option("--request <id>", "only this call (its request id)", "")
    .option("--level <level>", `at least this level: ${LEVELS.join(", ")}`)
    .option("--tail <n>", "only the newest N records the server holds (0: none)")
    .option("-f, --follow", "after the held records, print new ones as they come")
    .action(run(async (o: { pool: string; worker: string; session: string; request: string; level?: string; tail?: string; follow?: boolean }, cmd: Command) => {
      const opts = globals(cmd);
      if (o.level !== undefined && !LEVELS.includes(o.level)) throw new UsageError(`--level must be one of ${LEVELS.join(", ")} (got "${o.level}")`);
      const records = client(opts).logs({
        pool: o.pool, worker: o.worker, session: o.session, requestId: o.request,
        level: o.level as LogLevelName | undefined, follow: o.follow ?? false, tail: tailOption(o.tail), signal: interruptible(),
      });
      for await (const r of records) process.stdout.write(`${opts.json ? toJsonText(r, false) : formatRecord(r)}\n`);
    }));
}
