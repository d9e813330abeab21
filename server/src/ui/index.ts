import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { uiScript } from "./assets.js";
import { PAGE_HTML } from "./page.js";

// The page talks only to this server, and runs only its own script.
const SECURITY = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/**
 * Serves the status page: `/` and `/ui` redirect to `/ui/`, which is the page;
 * `/ui/app.js` its script. Returns false for any other path. The page itself
 * is public; the data behind it needs an API key when the server has keys.
 */
export function serveUi(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  const path = (req.url ?? "").split("?", 1)[0];
  if (path === "/" || path === "/ui") {
    res.writeHead(302, { location: "/ui/" });
    res.end();
    return true;
  }
  if (path === "/ui/") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache", ...SECURITY });
    res.end(PAGE_HTML);
    return true;
  }
  if (path === "/ui/app.js") {
    uiScript().then(
      (body) => {
        res.writeHead(200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache", ...SECURITY });
        res.end(body);
      },
      (e: unknown) => {
        res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        res.end(`the status page script could not be loaded: ${(e as Error).message}\n`);
      },
    );
    return true;
  }
  return false;
}
