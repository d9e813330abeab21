import { create } from "@bufbuild/protobuf";
import { createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { clientFromTransport } from "../src/client.js";
import { ExecuteManyResponseSchema, type ExecuteManyRequest, ExecuteResponseSchema, PoolService } from "../src/gen/pyfleet/pool/v1/pool_pb.js";
import { supportsBatchForm } from "../src/many.js";

/** A PoolService that states `version` (or nothing) and records what ExecuteMany receives; it answers each call with its tool's name. */
function server(version: string | undefined) {
  const received: ExecuteManyRequest[] = [];
  let listPools = 0;
  const transport = createRouterTransport(({ service }) => {
    service(PoolService, {
      listPools(_req, ctx) {
        listPools++;
        if (version) ctx.responseHeader.set("pyfleet-version", version);
        return {};
      },
      async *executeMany(requests) {
        for await (const m of requests) {
          received.push(m);
          const calls = m.calls.length > 0 ? m.calls : [m];
          const answers = calls.map((c) => create(ExecuteManyResponseSchema, { id: c.id, outcome: { case: "result", value: create(ExecuteResponseSchema, { resultJson: JSON.stringify(c.tool) }) } }));
          if (m.calls.length > 0) yield create(ExecuteManyResponseSchema, { answers });
          else yield* answers;
        }
      },
    });
  });
  return { client: clientFromTransport(transport, true), received, probes: () => listPools };
}

const requests = [{ tool: "a", args: { x: 1 } }, { tool: "b", args: { x: 2 } }, { tool: "c" }];

describe("executeMany and the server's version", () => {
  it("uses the batch form with a server that states a version that has it, asking once per client", async () => {
    const { client, received, probes } = server("0.1.0");
    const results = [];
    for await (const r of client.pool.executeMany(requests)) results.push(r.ok ? r.value : r.error);
    for await (const r of client.pool.executeMany([{ tool: "d" }])) results.push(r.ok ? r.value : r.error);
    expect(results).toEqual(["a", "b", "c", "d"]);
    expect(received.map((m) => [m.calls.map((c) => [c.tool, c.argsJson]), m.maxAnswersPerMessage])).toEqual([
      [[["a", '{"x":1}'], ["b", '{"x":2}'], ["c", ""]], 256],
      [[], 256],
    ]);
    expect(received[1]!.tool).toBe("d");
    expect(probes()).toBe(1);
  });

  it("sends one call per message, arguments as a Struct, to a server that states no version", async () => {
    const { client, received } = server(undefined);
    const results = [];
    for await (const r of client.pool.executeMany(requests)) results.push(r.ok ? r.value : r.error);
    expect(results).toEqual(["a", "b", "c"]);
    expect(received.map((m) => [m.tool, m.args, m.calls.length, m.argsJson, m.resultAsJson, m.maxAnswersPerMessage])).toEqual([
      ["a", { x: 1 }, 0, "", false, 0],
      ["b", { x: 2 }, 0, "", false, 0],
      ["c", {}, 0, "", false, 0],
    ]);
  });

  it("reads versions: the batch form since 0.1.0", () => {
    expect(["0.1.0", "0.1.7", "0.2.0", "1.0.0-rc.1", "0.0.9", "", undefined, null, "dev"].map(supportsBatchForm))
      .toEqual([true, true, true, true, false, false, false, false, false]);
  });
});
