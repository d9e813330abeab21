import type { JsonValue } from "@bufbuild/protobuf";
import type { ComputeInfo, SpawnSpec } from "@pyfleet/sdk";
import type { Command } from "commander";
import { client, globals, interruptible, keyValues, parseJson, print, run, secondsAsMs, spinner, UsageError } from "../context.js";
import { table, toJsonText } from "../output.js";
import { formatComputeLine, tailOption } from "./logs.js";

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function computeRow(c: ComputeInfo) {
  return { id: c.id, provider: c.provider, status: c.status, gpu: c.gpuType, cost: c.costPerHour ? `$${c.costPerHour.toFixed(2)}/h` : "", message: c.statusMessage };
}

const COLUMNS = ["id", "provider", "status", "gpu", "cost", "message"];

interface SpawnOptions {
  provider?: string;
  gpu?: string;
  count?: string;
  image?: string;
  spot?: boolean;
  port?: string[];
  env?: string[];
  label?: string[];
  idleTtl?: string;
  name?: string;
  requestId?: string;
  workers?: string;
  command?: string;
  wait?: boolean;
  timeout?: string;
}

export function computeCommands(program: Command): void {
  const compute = program.command("compute").description("spawn, watch and tear down machines on providers");

  compute
    .command("spawn")
    .description("spawn a compute (add --wait to wait until it is ready)")
    .option("--provider <name>", "the provider (default: the server's default)")
    .option("--gpu <alias>", "GPU alias, e.g. h100, a4000 (see `pyfleet compute gpus`)")
    .option("--count <n>", "GPUs per machine", "1")
    .option("--image <image>", "container image")
    .option("--spot", "an interruptible (spot) machine")
    .option("--port <port/proto>", "expose a port, e.g. 8000/http (repeatable)", collect)
    .option("--env <KEY=VALUE>", "environment variable (repeatable)", collect)
    .option("--label <KEY=VALUE>", "label (repeatable)", collect)
    .option("--idle-ttl <seconds>", "terminate after this long without use")
    .option("--name <name>", "a name for people")
    .option("--request-id <id>", "idempotency key: a retried spawn returns the same compute")
    .option("--workers <pool[:count]>", "run pyfleet workers that join this pool")
    .option("--command <json>", "a command to run, as a JSON array")
    .option("--wait", "wait until the compute is ready")
    .option("--timeout <seconds>", "with --wait: give up after this long")
    .action(run(async (o: SpawnOptions, cmd: Command) => {
      const opts = globals(cmd);
      const count = Number(o.count);
      if (!Number.isInteger(count) || count < 1) throw new UsageError("--count must be a whole number >= 1");
      const ports = (o.port ?? []).map((p) => {
        const [port, protocol = "http"] = p.split("/");
        if (!port || !/^\d+$/.test(port)) throw new UsageError(`--port takes PORT/PROTOCOL, e.g. 8000/http (got "${p}")`);
        return { port: Number(port), protocol };
      });
      let workers: SpawnSpec["workers"];
      if (o.workers) {
        const [pool, n = "1"] = o.workers.split(":");
        if (!pool || !/^\d+$/.test(n)) throw new UsageError(`--workers takes POOL[:COUNT] (got "${o.workers}")`);
        workers = { pool, count: Number(n) };
      }
      const command = parseJson(o.command, "--command");
      if (command !== undefined && (!Array.isArray(command) || !command.every((c) => typeof c === "string"))) throw new UsageError("--command must be a JSON array of strings");
      const handle = await client(opts).compute.spawn({
        provider: o.provider ?? "",
        gpu: o.gpu ?? "",
        gpuCount: o.gpu ? count : 0,
        image: o.image ?? "",
        spot: o.spot ?? false,
        ports,
        env: keyValues(o.env, "--env"),
        labels: keyValues(o.label, "--label"),
        name: o.name ?? "",
        clientRequestId: o.requestId ?? "",
        workers,
        command: command as string[] | undefined,
        idleTtlMs: secondsAsMs(o.idleTtl, "--idle-ttl"),
      });
      if (o.wait) await waitFor(handle, opts, secondsAsMs(o.timeout, "--timeout"));
      print(opts, handle.info, () => (o.wait ? table([computeRow(handle.info)], COLUMNS) : handle.id));
    }));

  compute
    .command("ls")
    .description("list your computes (not the terminated ones)")
    .option("--provider <name>", "only this provider's")
    .option("--label <KEY=VALUE>", "only computes with this label (repeatable)", collect)
    .action(run(async (o: { provider?: string; label?: string[] }, cmd: Command) => {
      const opts = globals(cmd);
      const list = await client(opts).compute.list({ provider: o.provider, labels: keyValues(o.label, "--label") });
      print(opts, list, () => table(list.map(computeRow), COLUMNS));
    }));

  compute
    .command("get <id>")
    .description("one compute, refreshed from its provider")
    .action(run(async (id: string, _o: unknown, cmd: Command) => {
      const opts = globals(cmd);
      const c = (await client(opts).compute.get(id)).info;
      print(opts, c, () => table([computeRow(c)], COLUMNS));
    }));

  for (const [verb, description] of [["stop", "stop a compute (keeps its disk)"], ["start", "start a stopped compute"], ["rm", "terminate a compute"], ["touch", "reset a compute's idle clock"]] as const) {
    compute
      .command(`${verb} <ids...>`)
      .description(description)
      .action(run(async (ids: string[], _o: unknown, cmd: Command) => {
        const opts = globals(cmd);
        const c = client(opts).compute;
        const out: ComputeInfo[] = [];
        for (const id of ids) {
          const handle = await c.get(id);
          out.push(verb === "stop" ? await handle.stop() : verb === "start" ? await handle.start() : verb === "rm" ? await handle.terminate() : await handle.touch());
        }
        print(opts, out, () => table(out.map(computeRow), COLUMNS));
      }));
  }

  compute
    .command("wait <id>")
    .description("wait until a compute is ready, showing its status")
    .option("--timeout <seconds>", "give up after this long")
    .action(run(async (id: string, o: { timeout?: string }, cmd: Command) => {
      const opts = globals(cmd);
      const handle = await client(opts).compute.get(id);
      await waitFor(handle, opts, secondsAsMs(o.timeout, "--timeout"));
      print(opts, handle.info, () => table([computeRow(handle.info)], COLUMNS));
    }));

  compute
    .command("watch")
    .description("print every status change of your computes (Ctrl-C stops)")
    .option("--provider <name>", "only this provider's")
    .option("--initial", "first print the current ones")
    .action(run(async (o: { provider?: string; initial?: boolean }, cmd: Command) => {
      const opts = globals(cmd);
      for await (const e of client(opts).compute.watch({ provider: o.provider, includeInitial: o.initial ?? false, signal: interruptible() })) {
        process.stdout.write(opts.json ? `${toJsonText(e, false)}\n` : `${e.compute.id} ${e.previous === "unspecified" ? "" : `${e.previous} -> `}${e.compute.status}${e.compute.statusMessage ? `: ${e.compute.statusMessage}` : ""}\n`);
      }
    }));

  compute
    .command("providers")
    .description("the configured providers and what they support")
    .action(run(async (_o: unknown, cmd: Command) => {
      const opts = globals(cmd);
      const list = await client(opts).compute.providers();
      const rows = list.map((p) => ({
        name: p.name,
        kind: p.kind,
        default: p.isDefault ? "yes" : "",
        capabilities: Object.entries(p.capabilities ?? {}).filter(([k, v]) => k !== "$typeName" && v === true).map(([k]) => k).join(", "),
      }));
      print(opts, rows, () => table(rows, ["name", "kind", "default", "capabilities"]));
    }));

  compute
    .command("gpus")
    .description("a provider's GPU catalog")
    .option("--provider <name>", "the provider", "")
    .action(run(async (o: { provider: string }, cmd: Command) => {
      const opts = globals(cmd);
      const gpus = await client(opts).compute.gpuTypes(o.provider);
      const rows = gpus.map((g) => ({ alias: g.alias, id: g.id, memory: `${g.memoryGb} GB`, price: `$${g.pricePerHour.toFixed(2)}/h`, spot: g.spotPricePerHour ? `$${g.spotPricePerHour.toFixed(2)}/h` : "" }));
      print(opts, rows, () => table(rows, ["alias", "id", "memory", "price", "spot"]));
    }));

  compute
    .command("logs <id>")
    .description("print a compute's machine log (Kubernetes, RunPod); --follow waits for more, Ctrl-C stops")
    .option("--tail <n>", "the newest N lines first (default 100)")
    .option("-f, --follow", "then print new lines as they come")
    .action(run(async (id: string, o: { tail?: string; follow?: boolean }, cmd: Command) => {
      const opts = globals(cmd);
      const handle = await client(opts).compute.get(id);
      for await (const line of handle.logs({ follow: o.follow ?? false, tail: tailOption(o.tail), signal: interruptible() })) {
        process.stdout.write(`${opts.json ? toJsonText(line, false) : formatComputeLine(line)}\n`);
      }
    }));

  const jobs = program.command("jobs").description("serverless jobs");
  jobs
    .command("run <endpoint>")
    .description("submit a job (on the local provider the endpoint is POOL/TOOL)")
    .option("--input <json>", "the job's input", "null")
    .option("--provider <name>", "the provider")
    .option("--timeout <seconds>", "maximum run time")
    .option("--request-id <id>", "idempotency key")
    .action(run(async (endpoint: string, o: { input: string; provider?: string; timeout?: string; requestId?: string }, cmd: Command) => {
      const opts = globals(cmd);
      const job = await client(opts).compute.jobs.run(endpoint, parseJson(o.input, "--input") as JsonValue, {
        provider: o.provider,
        timeoutMs: secondsAsMs(o.timeout, "--timeout"),
        clientRequestId: o.requestId,
      });
      print(opts, job, () => job.id);
    }));
  for (const verb of ["get", "cancel"] as const) {
    jobs
      .command(`${verb} <id>`)
      .description(verb === "get" ? "a job's status and output" : "cancel a job")
      .action(run(async (id: string, _o: unknown, cmd: Command) => {
        const opts = globals(cmd);
        const c = client(opts).compute;
        const job = verb === "get" ? await c.jobs.get(id) : await c.jobs.cancel(id);
        print(opts, job, () => table([{ id: job.id, status: job.status, output: job.output, error: job.error }], ["id", "status", "output", "error"]));
      }));
  }
  jobs
    .command("stream <id>")
    .description("print a job's partial outputs as JSON lines, then its final state")
    .action(run(async (id: string, _o: unknown, cmd: Command) => {
      const opts = globals(cmd);
      const stream = client(opts).compute.jobs.stream(id, { signal: interruptible() });
      for (;;) {
        const next = await stream.next();
        if (next.done) {
          if (next.value) process.stdout.write(`${toJsonText({ job: next.value }, false)}\n`);
          return;
        }
        process.stdout.write(`${toJsonText(next.value, false)}\n`);
      }
    }));
}

async function waitFor(handle: Awaited<ReturnType<ReturnType<typeof client>["compute"]["get"]>>, opts: Parameters<typeof print>[0], timeoutMs: number | undefined) {
  const spin = spinner(opts, `waiting for ${handle.id}`);
  try {
    await handle.waitUntilReady({
      onStatus: (c) => spin.update(`${c.id}: ${c.status}${c.statusMessage ? ` (${c.statusMessage})` : ""}`),
      timeoutMs,
      signal: interruptible(),
    });
    spin.done(`${handle.id} is ready`);
  } catch (e) {
    spin.done(`${handle.id}: ${(e as Error).message}`, false);
    throw e;
  }
}

