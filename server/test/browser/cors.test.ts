import { describe, expect, it } from "vitest";
import { startServer } from "../helpers.js";
import { bundle, launchChromium, servePage } from "./chromium.js";

type RunResult = { sum?: unknown; chunks?: unknown[]; error?: { code: string; message: string } };

describe("browsers as clients (CORS), in headless Chromium", () => {
  it("a page on an allowed origin calls Execute and reads a stream over Connect and gRPC-Web; another origin is refused", async () => {
    const script = await bundle(new URL("./pages/cross-origin.ts", import.meta.url).pathname);
    const [allowed, other] = await Promise.all([servePage(script), servePage(script)]);
    const server = await startServer({ pools: [{ name: "default", size: 1 }], cors: { allowedOrigins: [allowed.origin] } });
    await server.ready();

    // The preflight answers, exactly: connect-es's header lists plus Authorization.
    const preflight = (origin: string) => fetch(`${server.url}/pyfleet.pool.v1.PoolService/Execute`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,connect-protocol-version,authorization" },
    });
    const [yes, no] = await Promise.all([preflight(allowed.origin), preflight(other.origin)]);
    expect(yes.status).toBe(204);
    expect(yes.headers.get("access-control-allow-origin")).toBe(allowed.origin);
    expect(yes.headers.get("access-control-allow-methods")).toBe("POST, GET");
    expect(yes.headers.get("access-control-allow-headers")?.split(", ")).toEqual(expect.arrayContaining(["Content-Type", "Connect-Protocol-Version", "X-Grpc-Web", "Grpc-Timeout", "Authorization"]));
    // Allowed origins can read the server's version on responses.
    const answered = await fetch(`${server.url}/pyfleet.pool.v1.PoolService/ListPools`, { method: "POST", headers: { origin: allowed.origin, "content-type": "application/json" }, body: "{}" });
    expect(answered.status).toBe(200);
    expect(answered.headers.get("access-control-expose-headers")?.split(", ")).toEqual(expect.arrayContaining(["Grpc-Status", "Grpc-Message", "pyfleet-version"]));
    expect(no.status).toBe(403);
    expect(no.headers.get("access-control-allow-origin")).toBe(null);
    expect(await no.text()).toContain(`origin ${other.origin} may not call this server: add it to cors.allowedOrigins`);

    const browser = await launchChromium();
    const run = async (origin: string, protocol: string): Promise<RunResult> => {
      const page = await browser.newPage();
      await page.goto(origin);
      await page.waitForFunction(() => "pyfleetRun" in globalThis);
      return page.evaluate(([url, p]) => (globalThis as unknown as { pyfleetRun(u: string, p: string): Promise<RunResult> }).pyfleetRun(url!, p!), [server.url, protocol]);
    };
    const before = server.pools.get("default").stats().callsTotal;
    const [connect, grpcWeb, refused] = await Promise.all([run(allowed.origin, "connect"), run(allowed.origin, "grpc-web"), run(other.origin, "connect")]);
    expect(connect).toEqual({ sum: 5, chunks: [{ i: 0 }, { i: 1 }, { i: 2 }] });
    expect(grpcWeb).toEqual({ sum: 5, chunks: [{ i: 0 }, { i: 1 }, { i: 2 }] });
    expect(refused.error?.message).toMatch(/Failed to fetch/);
    // Two calls each from the allowed page's two runs; none from the refused one.
    expect(server.pools.get("default").stats().callsTotal - before).toBe(4);
  }, 120_000);
});
