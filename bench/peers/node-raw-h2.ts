// Peer: Node's own HTTP/2 server (h2c, prior knowledge) with a raw echo and
// nothing else: the ceiling of any Node HTTP/2 front on this machine, as
// node-raw.ts is for HTTP/1.1. `stream` uses the core API (server "stream"
// events, stream.respond / stream.end); `compat` the compatibility API
// (createServer(handler) with req/res), which costs more per request.
//
//   node --import tsx bench/peers/node-raw-h2.ts stream|compat   -> prints {"url": ...}
//
// A JSON body (application/json) is parsed and answered as {"result": args},
// as node-raw.ts does; any other body (the e2e rows send Connect proto, the
// same bytes and headers as pyfleet's h2c rows) is echoed back as it came,
// with its content type: the HTTP/2 work per request is the same either way.
import http2 from "node:http2";

const mode = process.argv[2] ?? "stream";
if (mode !== "stream" && mode !== "compat") throw new Error(`usage: node-raw-h2.ts stream|compat (got ${mode})`);

function answer(contentType: string, body: Buffer): Buffer {
  if (!contentType.startsWith("application/json")) return body;
  const args = (JSON.parse(body.toString("utf8")) as { args?: unknown }).args ?? {};
  return Buffer.from(JSON.stringify({ result: args }));
}

const server = http2.createServer();
if (mode === "stream") {
  server.on("stream", (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      const contentType = String(headers["content-type"] ?? "application/octet-stream");
      const out = answer(contentType, Buffer.concat(chunks));
      stream.respond({ ":status": 200, "content-type": contentType, "content-length": out.length });
      stream.end(out);
    });
    // h2load may reset streams it no longer wants; an error on one stream is not the server's.
    stream.on("error", () => {});
  });
} else {
  server.on("request", (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const contentType = req.headers["content-type"] ?? "application/octet-stream";
      const out = answer(contentType, Buffer.concat(chunks));
      res.writeHead(200, { "content-type": contentType, "content-length": out.length });
      res.end(out);
    });
  });
}
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  // Open sessions keep close() waiting; the peer holds nothing worth draining.
  setTimeout(() => process.exit(0), 1_000).unref();
});
