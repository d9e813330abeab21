import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { ComputeService } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import { PoolService } from "@pyfleet/sdk/gen/pyfleet/pool/v1/pool_pb";
import { afterEach, describe, expect, it, onTestFinished } from "vitest";
import { createServer, type PyfleetServer, type ServerConfigInput } from "../../src/index.js";
import { resolveConfig } from "../../src/config/index.js";
import { createTelemetry, NO_TELEMETRY } from "../../src/telemetry/index.js";
import { clientFor, type ProtocolName } from "../clients.js";
import { until } from "../procs.js";
import { startPostgres } from "../store/postgres.js";

/*
 * Traces from real servers with real Python workers, read back from an
 * in-memory exporter (Node) and from the worker's own in-memory exporter
 * (pyfleet_bridge.testing.traced), and over OTLP to a real HTTP receiver.
 */

const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN = "b7ad6b7169203331";
const TRACEPARENT = `00-${TRACE_ID}-${CALLER_SPAN}-01`;
const TRACED = "pyfleet_bridge.testing.traced:TracedAdapter";

async function tracedServer(config: ServerConfigInput = {}): Promise<{ server: PyfleetServer; exporter: InMemorySpanExporter }> {
  const dataDir = mkdtempSync(join(tmpdir(), "pyfleet-data-"));
  const exporter = new InMemorySpanExporter();
  const server = await createServer({ port: 0, logLevel: "silent", dataDir, pools: [{ name: "default", size: 1, adapter: TRACED }], ...config }, { spanExporter: exporter });
  onTestFinished(async () => {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  await server.ready();
  return { server, exporter };
}

function traced(protocol: ProtocolName, url: string) {
  return clientFor(PoolService, url, protocol);
}

const headers = { headers: { traceparent: TRACEPARENT, tracestate: "vendor=7" } };

/** The spans whose parent is `span`, by name. */
function childrenOf(spans: ReadableSpan[], span: ReadableSpan): Map<string, ReadableSpan> {
  return new Map(spans.filter((s) => s.parentSpanContext?.spanId === span.spanContext().spanId).map((s) => [s.name, s]));
}

/** Waits for the span named `name` (a span ends as its RPC answers, so it may trail the answer by a turn). */
async function spanNamed(exporter: InMemorySpanExporter, name: string): Promise<ReadableSpan> {
  await until(() => exporter.getFinishedSpans().some((s) => s.name === name), 5_000, `span ${name}`);
  return exporter.getFinishedSpans().find((s) => s.name === name)!;
}

let frontSetting: string | undefined;
afterEach(() => {
  if (frontSetting === undefined) delete process.env.PYFLEET_UNARY_FRONT;
  else process.env.PYFLEET_UNARY_FRONT = frontSetting;
});

describe("traces", () => {
  it.each([
    ["the unary front", "connect", undefined],
    ["the unary front", "grpc", undefined],
    ["connect-node", "connect", "off"],
    ["connect-node", "grpc-web", "off"],
  ] as const)("a call through %s (%s) continues the caller's trace into Python", async (_, protocol, front) => {
    frontSetting = process.env.PYFLEET_UNARY_FRONT;
    if (front) process.env.PYFLEET_UNARY_FRONT = front;
    else delete process.env.PYFLEET_UNARY_FRONT;
    const { server, exporter } = await tracedServer();
    const pool = traced(protocol, server.url);

    const res = await pool.execute({ tool: "work", argsJson: "{}", resultAsJson: true }, headers);
    const rpc = await spanNamed(exporter, "pyfleet.pool.v1.PoolService/Execute");
    expect(rpc.kind).toBe(SpanKind.SERVER);
    expect(rpc.spanContext().traceId).toBe(TRACE_ID);
    expect(rpc.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    expect(rpc.attributes).toMatchObject({ "pyfleet.pool": "default", "pyfleet.tool": "work", "rpc.grpc.status_code": 0, "rpc.method": "Execute" });
    expect(rpc.status.code).toBe(SpanStatusCode.UNSET);

    const children = childrenOf(exporter.getFinishedSpans(), rpc);
    expect([...children.keys()].sort()).toEqual(["pyfleet.dispatch", "pyfleet.queue", "pyfleet.run"]);
    const run = children.get("pyfleet.run")!;
    expect(run.attributes).toMatchObject({ "pyfleet.worker": res.info!.workerId, "pyfleet.attempt": 1, "pyfleet.tool": "work" });
    expect(children.get("pyfleet.dispatch")!.attributes["pyfleet.worker"]).toBe(res.info!.workerId);

    // Python saw the run span as its parent: ctx, and the OpenTelemetry context its span ran in.
    const runSpan = run.spanContext().spanId;
    expect(JSON.parse(res.resultJson)).toEqual({ trace_id: TRACE_ID, span_id: runSpan, current_trace_id: TRACE_ID });
    const pySpans = JSON.parse((await pool.execute({ tool: "spans", argsJson: "{}", resultAsJson: true })).resultJson) as { name: string; trace_id: string; parent_id: string }[];
    const work = pySpans.find((s) => s.name === "work")!;
    expect([work.trace_id, work.parent_id]).toEqual([TRACE_ID, runSpan]);
  });

  it("marks a failed call's RPC and run spans with the error and its status code", async () => {
    const { server, exporter } = await tracedServer({ pools: [{ name: "default", size: 1 }] });
    const error = await traced("grpc", server.url).execute({ tool: "fail", argsJson: '{"message":"boom"}' }, headers).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Unknown);
    const rpc = await spanNamed(exporter, "pyfleet.pool.v1.PoolService/Execute");
    expect(rpc.status).toEqual({ code: SpanStatusCode.ERROR, message: 'tool "fail" raised ValueError: boom' });
    expect(rpc.attributes).toMatchObject({ "rpc.grpc.status_code": 2, "pyfleet.code": "unknown" });
    const run = childrenOf(exporter.getFinishedSpans(), rpc).get("pyfleet.run")!;
    expect(run.status.code).toBe(SpanStatusCode.ERROR);
    expect(run.attributes["pyfleet.code"]).toBe("unknown");
  });

  it("traces a stream (connect-node) and an unknown tool's RPC", async () => {
    const { server, exporter } = await tracedServer();
    const pool = traced("connect", server.url);
    const items = [];
    for await (const msg of pool.executeStream({ tool: "gen_work", argsJson: '{"n":2}', resultAsJson: true }, headers)) items.push(msg.event.case);
    expect(items).toEqual(["chunkBatch", "chunkBatch", "done"]);
    const rpc = await spanNamed(exporter, "pyfleet.pool.v1.PoolService/ExecuteStream");
    expect([rpc.spanContext().traceId, rpc.parentSpanContext?.spanId, rpc.attributes["rpc.grpc.status_code"]]).toEqual([TRACE_ID, CALLER_SPAN, 0]);
    expect([...childrenOf(exporter.getFinishedSpans(), rpc).keys()].sort()).toEqual(["pyfleet.dispatch", "pyfleet.queue", "pyfleet.run"]);

    await pool.execute({ tool: "nope" }).catch(() => undefined);
    await until(() => exporter.getFinishedSpans().filter((s) => s.name === "pyfleet.pool.v1.PoolService/Execute").length === 1, 5_000, "the Execute span");
    const unknown = exporter.getFinishedSpans().find((s) => s.name === "pyfleet.pool.v1.PoolService/Execute")!;
    // No caller context: a new trace, kept (sampleRatio 1).
    expect(unknown.spanContext().traceId).not.toBe(TRACE_ID);
    expect(unknown.parentSpanContext).toBeUndefined();
    expect(unknown.attributes).toMatchObject({ "pyfleet.code": "not_found", "rpc.grpc.status_code": 5 });
  });

  it("continues the trace across a hop to the replica that owns a session", async () => {
    const postgres = await startPostgres();
    onTestFinished(() => postgres.stop());
    const store = await postgres.database();
    const pools = [{ name: "default", size: 1 }];
    const a = await tracedServer({ store, pools });
    const b = await tracedServer({ store, pools });
    const { session } = await traced("connect", a.server.url).createSession({});
    await traced("grpc", b.server.url).execute({ tool: "echo", sessionId: session!.id, argsJson: "{}" }, headers);
    const onB = await spanNamed(b.exporter, "pyfleet.pool.v1.PoolService/Execute");
    const onA = await spanNamed(a.exporter, "pyfleet.pool.v1.PoolService/Execute");
    expect([onB.spanContext().traceId, onB.parentSpanContext?.spanId]).toEqual([TRACE_ID, CALLER_SPAN]);
    // The owner's span is a child of the forwarding replica's, and the call's spans are there.
    expect([onA.spanContext().traceId, onA.parentSpanContext?.spanId]).toEqual([TRACE_ID, onB.spanContext().spanId]);
    expect([...childrenOf(a.exporter.getFinishedSpans(), onA).keys()].sort()).toEqual(["pyfleet.dispatch", "pyfleet.queue", "pyfleet.run"]);
  }, 90_000);

  it("gives compute spawns and jobs spans under their RPC's span", async () => {
    const { server, exporter } = await tracedServer({ pools: [] });
    const compute = clientFor(ComputeService, server.url);
    const { compute: spawned } = await compute.spawnCompute({ spec: { gpu: "h100", image: "img" } }, headers);
    const rpc = await spanNamed(exporter, "pyfleet.compute.v1.ComputeService/SpawnCompute");
    const spawn = childrenOf(exporter.getFinishedSpans(), rpc).get("pyfleet.compute.spawn")!;
    expect(spawn.spanContext().traceId).toBe(TRACE_ID);
    expect(spawn.attributes).toMatchObject({ "pyfleet.compute": spawned!.id, "pyfleet.provider": "mock", "pyfleet.gpu": "NVIDIA H100 80GB HBM3" });

    const { job } = await compute.runJob({ endpoint: "ep-1" }, headers);
    const jobRpc = await spanNamed(exporter, "pyfleet.compute.v1.ComputeService/RunJob");
    const jobSpan = childrenOf(exporter.getFinishedSpans(), jobRpc).get("pyfleet.compute.job")!;
    expect(jobSpan.attributes).toMatchObject({ "pyfleet.job": job!.id, "pyfleet.provider": "mock", "pyfleet.endpoint": "ep-1" });
  });

  it("exports over OTLP/HTTP (protobuf) to <otlpEndpoint>/v1/traces", async () => {
    const received: { url: string; type: string; body: Buffer }[] = [];
    const receiver = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on("data", (c: Buffer) => parts.push(c));
      req.on("end", () => {
        received.push({ url: req.url ?? "", type: req.headers["content-type"] ?? "", body: Buffer.concat(parts) });
        res.writeHead(200, { "content-type": "application/x-protobuf" });
        res.end();
      });
    });
    receiver.listen(0, "127.0.0.1");
    await once(receiver, "listening");
    onTestFinished(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
    const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const dataDir = mkdtempSync(join(tmpdir(), "pyfleet-data-"));
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    const server = await createServer({ port: 0, logLevel: "silent", dataDir, pools: [], telemetry: { otlpEndpoint: endpoint, serviceName: "traces-test" } });
    await traced("connect", server.url).listPools({}, headers);
    // Closing flushes the batch.
    await server.close();
    expect(received.map((r) => [r.url, r.type])).toEqual([["/v1/traces", "application/x-protobuf"]]);
    const body = received[0]!.body;
    expect(body.includes(Buffer.from(TRACE_ID, "hex"))).toBe(true);
    expect(body.includes(Buffer.from(CALLER_SPAN, "hex"))).toBe(true);
    expect(body.includes(Buffer.from("pyfleet.pool.v1.PoolService/ListPools"))).toBe(true);
    expect(body.includes(Buffer.from("traces-test"))).toBe(true);
  });

  it("is off unless configured: nothing is loaded and Python gets no trace context", async () => {
    expect(await createTelemetry(resolveConfig({}).telemetry)).toBe(NO_TELEMETRY);
    const dataDir = mkdtempSync(join(tmpdir(), "pyfleet-data-"));
    const server = await createServer({ port: 0, logLevel: "silent", dataDir, pools: [{ name: "default", size: 1, adapter: TRACED }] });
    onTestFinished(async () => {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    });
    await server.ready();
    const res = await traced("connect", server.url).execute({ tool: "work", argsJson: "{}", resultAsJson: true }, headers);
    const seen = JSON.parse(res.resultJson) as Record<string, unknown>;
    expect([seen.trace_id, seen.span_id]).toEqual([null, null]);
  });
});
