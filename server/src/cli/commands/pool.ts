import type { JsonObject } from "@bufbuild/protobuf";
import type { Command } from "commander";
import type { VariableTypeName } from "@pyfleet/sdk";
import { client, globals, interruptible, parseObject, print, run, secondsAsMs, UsageError } from "../context.js";
import { table, toJsonText } from "../output.js";

const TYPES = ["string", "int", "float", "bool", "json", "bytes"];

export function poolCommands(program: Command): void {
  program
    .command("tools")
    .description("list the tools of a pool")
    .option("--pool <name>", "the pool (default: the server's default pool)", "")
    .action(run(async (o: { pool: string }, cmd: Command) => {
      const opts = globals(cmd);
      const tools = await client(opts).poolNamed(o.pool).tools();
      print(opts, tools.map((t) => ({
        name: t.name,
        description: t.description,
        streaming: t.streaming,
        idempotent: t.idempotent,
        batchSize: t.batchSize,
        parameters: t.parameters.map((p) => ({ name: p.name, type: p.type, required: p.required })),
      })), () => table(tools.map((t) => ({
        name: t.name,
        kind: t.streaming ? "stream" : t.batchSize > 0 ? `batch ${t.batchSize}` : "unary",
        idempotent: t.idempotent ? "yes" : "",
        parameters: t.parameters.map((p) => `${p.name}${p.required ? "" : "?"}: ${p.type}`).join(", ") + (t.acceptsExtraArgs ? (t.parameters.length ? ", **kwargs" : "**kwargs") : ""),
        description: t.description,
      })), ["name", "kind", "idempotent", "parameters", "description"]));
    }));

  program
    .command("exec <tool>")
    .description("run a tool and print its result")
    .option("--args <json>", "keyword arguments as a JSON object", "{}")
    .option("--session <id>", "run inside a session")
    .option("--pool <name>", "the pool", "")
    .option("--timeout <seconds>", "deadline, carried into Python")
    .option("--idempotent", "safe to retry on another worker")
    .action(run(async (tool: string, o: { args: string; session?: string; pool: string; timeout?: string; idempotent?: boolean }, cmd: Command) => {
      const opts = globals(cmd);
      const result = await client(opts).poolNamed(o.pool).call(tool, parseObject(o.args, "--args") as JsonObject, {
        session: o.session,
        timeoutMs: secondsAsMs(o.timeout, "--timeout"),
        idempotent: o.idempotent ?? false,
        signal: interruptible(),
      });
      print(opts, opts.json ? { result: result.value, info: result.info } : result.value);
    }));

  program
    .command("stream <tool>")
    .description("run a generator tool and print each chunk as a JSON line (Ctrl-C cancels it)")
    .option("--args <json>", "keyword arguments as a JSON object", "{}")
    .option("--session <id>", "run inside a session")
    .option("--pool <name>", "the pool", "")
    .option("--timeout <seconds>", "deadline for the whole stream")
    .action(run(async (tool: string, o: { args: string; session?: string; pool: string; timeout?: string }, cmd: Command) => {
      const opts = globals(cmd);
      const stream = client(opts).poolNamed(o.pool).stream(tool, parseObject(o.args, "--args") as JsonObject, {
        session: o.session,
        timeoutMs: secondsAsMs(o.timeout, "--timeout"),
        signal: interruptible(),
      });
      for await (const chunk of stream) process.stdout.write(`${toJsonText(chunk, false)}\n`);
    }));

  const sessions = program.command("sessions").description("list, create and delete sessions");
  sessions
    .command("ls")
    .description("list your sessions")
    .option("--pool <name>", "only this pool's", "")
    .action(run(async (o: { pool: string }, cmd: Command) => {
      const opts = globals(cmd);
      const res = await client(opts).rpc.pool.listSessions({ pool: o.pool, pageSize: 1000 });
      const rows = res.sessions.map((s) => ({
        id: s.id,
        pool: s.pool,
        worker: s.workerId,
        calls: s.stats?.calls ?? 0n,
        expires: s.expiresAt ? new Date(Number(s.expiresAt.seconds) * 1000).toISOString() : "",
      }));
      print(opts, rows, () => table(rows, ["id", "pool", "worker", "calls", "expires"]));
    }));
  sessions
    .command("create")
    .description("open a session and print its id")
    .option("--pool <name>", "the pool", "")
    .option("--affinity <mode>", "hint, strict_queue or strict_fail_fast", "hint")
    .option("--ttl <seconds>", "idle time-to-live")
    .action(run(async (o: { pool: string; affinity: string; ttl?: string }, cmd: Command) => {
      const opts = globals(cmd);
      if (!["hint", "strict_queue", "strict_fail_fast"].includes(o.affinity)) throw new UsageError("--affinity must be hint, strict_queue or strict_fail_fast");
      const session = await client(opts).poolNamed(o.pool).session({ affinity: o.affinity as "hint", ttlMs: secondsAsMs(o.ttl, "--ttl") });
      print(opts, session.info, () => session.id);
    }));
  sessions
    .command("rm <ids...>")
    .description("delete sessions")
    .action(run(async (ids: string[], _o: unknown, cmd: Command) => {
      const opts = globals(cmd);
      const pool = client(opts).pool;
      for (const id of ids) await (await pool.openSession(id)).close();
      print(opts, { deleted: ids }, () => `deleted ${ids.join(", ")}`);
    }));

  const vars = program.command("vars").description("read, write and watch session variables");
  vars
    .command("get <session> <name>")
    .description("print a variable's value")
    .action(run(async (sessionId: string, name: string, _o: unknown, cmd: Command) => {
      const opts = globals(cmd);
      const session = await client(opts).pool.openSession(sessionId);
      const v = await session.variable(name);
      print(opts, v, () => toJsonText(v.value));
    }));
  vars
    .command("set <session> <name> <value>")
    .description("set a variable (VALUE is parsed as JSON when it can be, else taken as a string)")
    .option("--type <type>", `force a type: ${TYPES.join(", ")}`)
    .option("--expected-version <n>", "only if the variable is at this version (0: only if absent)")
    .action(run(async (sessionId: string, name: string, raw: string, o: { type?: string; expectedVersion?: string }, cmd: Command) => {
      const opts = globals(cmd);
      if (o.type && !TYPES.includes(o.type)) throw new UsageError(`--type must be one of ${TYPES.join(", ")}`);
      let value: unknown = raw;
      if (o.type !== "string") {
        try {
          value = JSON.parse(raw);
        } catch {
          value = raw;
        }
      }
      if (o.expectedVersion !== undefined && !/^\d+$/.test(o.expectedVersion)) throw new UsageError("--expected-version must be a whole number");
      const session = await client(opts).pool.openSession(sessionId);
      const v = await session.set(name, value as never, {
        type: o.type as VariableTypeName | undefined,
        expectedVersion: o.expectedVersion === undefined ? undefined : BigInt(o.expectedVersion),
      });
      print(opts, v, () => `${v.name} = ${toJsonText(v.value, false)} (version ${v.version})`);
    }));
  vars
    .command("watch <session> [names...]")
    .description("print every change to the session's variables as a JSON line (Ctrl-C stops)")
    .option("--initial", "first print the current values")
    .action(run(async (sessionId: string, names: string[], o: { initial?: boolean }, cmd: Command) => {
      const opts = globals(cmd);
      const session = await client(opts).pool.openSession(sessionId);
      for await (const e of session.watch({ names, includeInitial: o.initial ?? false, signal: interruptible() })) {
        process.stdout.write(`${toJsonText({ change: e.change, name: e.variable.name, value: e.variable.value, version: e.variable.version, by: e.variable.updatedBy }, false)}\n`);
      }
    }));

  const pools = program.command("pools").description("pool statistics and events");
  pools
    .command("ls")
    .description("list the pools")
    .action(run(async (_o: unknown, cmd: Command) => {
      const opts = globals(cmd);
      const list = await client(opts).pool.list();
      const rows = list.map((p) => ({ name: p.name, adapter: p.adapter, workers: p.minSize === p.maxSize ? `${p.workers}/${p.size}` : `${p.workers}/${p.minSize}-${p.maxSize}`, mode: p.startMode, default: p.isDefault ? "yes" : "" }));
      print(opts, rows, () => table(rows, ["name", "adapter", "workers", "mode", "default"]));
    }));
  pools
    .command("stats")
    .description("a pool's workers, queue, calls and latency")
    .option("--pool <name>", "the pool", "")
    .action(run(async (o: { pool: string }, cmd: Command) => {
      const opts = globals(cmd);
      const s = await client(opts).poolNamed(o.pool).stats();
      const rows = [
        { stat: "pool", value: s.pool },
        { stat: "workers ready/busy/starting", value: `${s.workersReady}/${s.workersBusy}/${s.workersStarting}` },
        { stat: "remote workers", value: s.workersRemote },
        { stat: "queue depth", value: s.queueDepth },
        { stat: "in flight", value: s.inFlight },
        { stat: "calls", value: s.callsTotal },
        { stat: "restarts", value: s.restarts },
        { stat: "latency p50/p99 ms", value: `${s.latencyP50Ms.toFixed(2)}/${s.latencyP99Ms.toFixed(2)}` },
        { stat: "sessions", value: s.sessions },
        { stat: "circuit", value: s.circuitOpen ? "open" : "closed" },
      ];
      print(opts, s, () => table(rows, ["stat", "value"]));
    }));
  pools
    .command("watch")
    .description("print the pool's events as they happen (Ctrl-C stops)")
    .option("--pool <name>", "the pool", "")
    .action(run(async (o: { pool: string }, cmd: Command) => {
      const opts = globals(cmd);
      for await (const e of client(opts).poolNamed(o.pool).watch({ signal: interruptible() })) {
        process.stdout.write(opts.json ? `${toJsonText(e, false)}\n` : `${e.time?.toISOString() ?? ""} ${e.kind} ${e.workerId}${e.workerPid ? ` pid ${e.workerPid}` : ""}${e.message ? `: ${e.message}` : ""}\n`);
      }
    }));
}
