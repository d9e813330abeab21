import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "@pyfleet/sdk/gen/grpc/health/v1/health_pb";
import { ProviderService } from "@pyfleet/protocol/gen/pyfleet/provider/v1/provider_pb";
import { execa } from "execa";
import { createChannel, createClient as createNiceClient, Status } from "nice-grpc";
import { describe, expect, it } from "vitest";
import { niceGrpcDefinition } from "../../conformance/src/grpc/nice-grpc-definition.js";
import { startServer } from "./helpers.js";

describe("one port, three protocols", () => {
  it("answers health over Connect JSON to plain curl on HTTP/1.1", async () => {
    const server = await startServer({ pools: [] });
    const { stdout } = await execa("curl", [
      "--silent", "--show-error", "--http1.1",
      "--write-out", "\n%{http_version}",
      "-H", "Content-Type: application/json",
      "-d", "{}",
      `${server.url}/grpc.health.v1.Health/Check`,
    ]);
    const [body, httpVersion] = stdout.split("\n");
    expect(httpVersion).toBe("1.1");
    expect(JSON.parse(body!)).toEqual({ status: "SERVING" });
  });

  it("answers health over gRPC to a nice-grpc client on grpc-js", async () => {
    const server = await startServer({ pools: [] });
    const channel = createChannel(server.url.replace("http://", ""));
    try {
      const health = createNiceClient(niceGrpcDefinition(Health), channel);
      const response = await health.check({ service: "" });
      expect(response.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      const pool = await health.check({ service: "pyfleet.pool.v1.PoolService" });
      expect(pool.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      await expect(health.check({ service: "no.such.Service" })).rejects.toMatchObject({ code: Status.NOT_FOUND });
    } finally {
      channel.close();
    }
  });

  it.each([
    ["connect", createConnectTransport],
    ["grpc", createGrpcTransport],
    ["grpc-web", createGrpcWebTransport],
  ] as const)("answers UNIMPLEMENTED for a service it does not offer over %s", async (_name, makeTransport) => {
    const server = await startServer({ pools: [] });
    const transport = makeTransport({ baseUrl: server.url, httpVersion: "2" });
    const health = createClient(Health, transport);
    expect((await health.check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    // The provider plug-in contract is implemented by providers, not by the server.
    const provider = createClient(ProviderService, transport);
    const error = await provider.getCapabilities({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Unimplemented);
  });

  it("streams health changes to a watcher", async () => {
    const server = await startServer({ pools: [] });
    const health = createClient(Health, createConnectTransport({ baseUrl: server.url, httpVersion: "2" }));
    const abort = new AbortController();
    const stream = health.watch({ service: "" }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    server.health.set("", "NOT_SERVING");
    expect((await stream.next()).value?.status).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
    abort.abort();
  });
});
