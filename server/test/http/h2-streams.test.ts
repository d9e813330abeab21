import { readFileSync } from "node:fs";
import http2 from "node:http2";
import https from "node:https";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import type { StreamRequest, StreamResponse } from "../../src/http/h2-stream.js";
import { listen, type Listener, type ListenerOptions } from "../../src/http/listener.js";
import { startServer } from "../helpers.js";

/*
 * HTTP/2 streams the listener hands to a stream handler (the unary front's
 * path, on Node's core stream API) beside those it leaves to the
 * compatibility API, on one connection: what each side sees, a body cut
 * after the answer, graceful close, TLS; and, on the whole server, the CORS
 * and version headers of the wrappers around the front.
 */

const TLS = {
  cert: readFileSync(new URL("./fixtures/localhost-cert.pem", import.meta.url)),
  key: readFileSync(new URL("./fixtures/localhost-key.pem", import.meta.url)),
};

interface Seen { compat: string[]; streams: string[] }

/** A listener whose stream handler claims /fast/*: echo (reads the body), early (answers before reading it), hold (answers when released). */
async function start(extra: Partial<ListenerOptions> = {}) {
  const seen: Seen = { compat: [], streams: [] };
  const held: (() => void)[] = [];
  const fast = (req: StreamRequest, res: StreamResponse) => {
    seen.streams.push(req.url!);
    res.setHeader("x-served-by", "stream");
    if (req.url === "/fast/echo") {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.once("end", () => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.write(Buffer.concat(chunks));
        res.addTrailers({ "x-trailer": "done" });
        res.end();
      });
    } else if (req.url === "/fast/early") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.addTrailers({ "x-trailer": "early" });
      res.end("refused unread");
    } else {
      held.push(() => res.end("held"));
    }
  };
  const listener = await listen({
    host: "127.0.0.1",
    port: 0,
    idleTimeoutMs: 30_000,
    handler: (req, res) => {
      seen.compat.push(`${req.httpVersionMajor} ${req.url}`);
      res.setHeader("x-served-by", "compat");
      res.end(`compat ${req.url}`);
    },
    streams: { claims: (req) => req.url?.startsWith("/fast/") === true, handler: fast },
    ...extra,
  });
  listeners.push(listener);
  return { listener, seen, held };
}

const listeners: Listener[] = [];
afterEach(async () => {
  await Promise.all(listeners.splice(0).map((l) => l.close(100)));
});

interface Answer { headers: http2.IncomingHttpHeaders; body: string; trailers: http2.IncomingHttpHeaders; rstCode: number | undefined }

/** One request on `session`; `end: false` leaves the request body open after `body`. */
function request(session: http2.ClientHttp2Session, path: string, body = "", end = true): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": path, te: "trailers" });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    let text = "";
    stream.on("response", (h) => (headers = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (c: Buffer) => (text += c.toString()));
    stream.on("error", reject);
    stream.on("close", () => resolve({ headers, body: text, trailers, rstCode: stream.rstCode }));
    if (end) stream.end(body);
    else stream.write(body);
  });
}

describe("HTTP/2 streams on the core API beside the compatibility API", () => {
  it("serves a claimed stream and a declined one on the same connection, each on its own path", async () => {
    const { listener, seen } = await start();
    const session = http2.connect(listener.url);
    const [fast, slow, missing] = await Promise.all([request(session, "/fast/echo", "hello"), request(session, "/other"), request(session, "/fast-not")]);
    session.close();
    expect(fast.headers[":status"]).toBe(200);
    expect([fast.headers["x-served-by"], fast.body, fast.trailers["x-trailer"]]).toEqual(["stream", "hello", "done"]);
    expect([slow.headers["x-served-by"], slow.body]).toEqual(["compat", "compat /other"]);
    expect(missing.body).toBe("compat /fast-not");
    // Node's date header, as the compatibility API sends it.
    expect(new Date(fast.headers.date!).getTime()).toBeGreaterThan(0);
    expect(seen).toEqual({ streams: ["/fast/echo"], compat: expect.arrayContaining(["2 /other", "2 /fast-not"]) });
  });

  it("cuts a request body still coming once the answer is sent, with its trailers intact", async () => {
    const { listener } = await start();
    const session = http2.connect(listener.url);
    const early = await request(session, "/fast/early", "x".repeat(1000), false);
    expect([early.headers[":status"], early.body, early.trailers["x-trailer"], early.rstCode]).toEqual([200, "refused unread", "early", http2.constants.NGHTTP2_NO_ERROR]);
    // The connection serves on.
    expect((await request(session, "/fast/echo", "next")).body).toBe("next");
    session.close();
  });

  it("closes gracefully: an in-flight stream call finishes, new streams are refused, then the listener closes", async () => {
    const { listener, held } = await start();
    const session = http2.connect(listener.url);
    const inFlight = request(session, "/fast/hold");
    await expect.poll(() => held.length).toBe(1);
    const goaway = once(session, "goaway");
    const closed = listener.close(10_000);
    await goaway;
    held[0]!();
    expect((await inFlight).body).toBe("held");
    await closed;
    expect(session.destroyed || session.closed).toBe(true);
  });

  it("closes whatever is still in flight once the grace period is over", async () => {
    const { listener, held } = await start();
    const session = http2.connect(listener.url);
    session.on("error", () => undefined);
    const inFlight = request(session, "/fast/hold").then((a) => (a.headers[":status"] === undefined ? "cut" : `answered ${a.body}`), () => "cut");
    await expect.poll(() => held.length).toBe(1);
    const started = Date.now();
    await listener.close(200);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await inFlight).toBe("cut");
  });

  it("serves claimed streams over TLS (h2 by ALPN), and HTTP/1.1 over TLS as before", async () => {
    const { listener, seen } = await start({ tls: TLS });
    expect(listener.url).toMatch(/^https:/);
    const session = http2.connect(listener.url, { ca: TLS.cert });
    const [fast, other] = await Promise.all([request(session, "/fast/echo", "secure"), request(session, "/other")]);
    session.close();
    expect([fast.headers["x-served-by"], fast.body, fast.trailers["x-trailer"]]).toEqual(["stream", "secure", "done"]);
    expect(other.body).toBe("compat /other");
    const h1 = await new Promise<string>((resolve, reject) => {
      https.get(`${listener.url}/fast/echo`, { ca: TLS.cert, agent: false }, (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve(`${res.httpVersion} ${text}`));
      }).on("error", reject);
    });
    // HTTP/1.1 never takes the stream path, even for a path it would claim.
    expect(h1).toBe("1.1 compat /fast/echo");
    expect(seen.streams).toEqual(["/fast/echo"]);
  });
});

describe("the server's unary calls over HTTP/2", () => {
  it("carry the version header and CORS headers on the stream path; other origins get 403", async () => {
    const server = await startServer({ pools: [], cors: { allowedOrigins: ["https://app.example"] } });
    const session = http2.connect(server.url);
    const check = (origin?: string) => new Promise<{ headers: http2.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const stream = session.request({ ":method": "POST", ":path": "/grpc.health.v1.Health/Check", "content-type": "application/json", ...(origin ? { origin } : {}) });
      let headers: http2.IncomingHttpHeaders = {};
      let body = "";
      stream.on("response", (h) => (headers = h));
      stream.on("data", (c: Buffer) => (body += c.toString()));
      stream.on("end", () => resolve({ headers, body }));
      stream.on("error", reject);
      stream.end("{}");
    });
    const [plain, allowed, other] = await Promise.all([check(), check("https://app.example"), check("https://evil.example")]);
    session.close();
    expect([plain.headers[":status"], JSON.parse(plain.body)]).toEqual([200, { status: "SERVING" }]);
    expect(plain.headers["pyfleet-version"]).toEqual(expect.stringMatching(/^\d+\.\d+\.\d+/));
    expect(plain.headers["pyfleet-replica"]).toBe(server.fleet.id);
    expect(plain.headers["access-control-allow-origin"]).toBeUndefined();
    expect(allowed.headers["access-control-allow-origin"]).toBe("https://app.example");
    expect(allowed.headers.vary).toBe("Origin");
    expect(String(allowed.headers["access-control-expose-headers"]).split(", ")).toEqual(expect.arrayContaining(["Grpc-Status", "pyfleet-version", "pyfleet-replica"]));
    expect(allowed.headers["pyfleet-version"]).toBe(plain.headers["pyfleet-version"]);
    expect([other.headers[":status"], other.body]).toEqual([403, "origin https://evil.example may not call this server: add it to cors.allowedOrigins (or $PYFLEET_CORS_ORIGINS)\n"]);
  });
});
