import { cors as connectCors } from "@connectrpc/connect";
import type { NodeRequest, NodeResponse } from "./exchange.js";

export interface CorsOptions {
  /** Origins ("https://app.example.com") browsers may call from; "*" allows any. */
  allowedOrigins: readonly string[];
  /** Request headers beyond those Connect, gRPC-Web and the API key need. */
  allowedHeaders?: readonly string[];
  /** Response headers beyond those the protocols need. */
  exposedHeaders?: readonly string[];
}

/** How long a browser may reuse a preflight answer: Chromium's ceiling (2 h). */
const MAX_AGE_SECONDS = 7200;

/**
 * CORS for browsers calling from other origins: connect-es's lists of the
 * methods and headers Connect and gRPC-Web need (plus `Authorization` for API
 * keys), answered only for allowed origins. A cross-origin request from any
 * other origin is refused with 403 before it reaches a handler, so it cannot
 * have side effects even where the browser would not have asked first.
 * Same-origin requests (the status page) and clients that send no Origin
 * (SDKs outside browsers, curl) pass untouched.
 */
export function withCors<Req extends NodeRequest, Res extends NodeResponse>(options: CorsOptions, next: (req: Req, res: Res) => void): (req: Req, res: Res) => void {
  const any = options.allowedOrigins.includes("*");
  const allowed = new Set(options.allowedOrigins.map((o) => o.toLowerCase()));
  const allowMethods = connectCors.allowedMethods.join(", ");
  const allowHeaders = [...connectCors.allowedHeaders, "Authorization", ...(options.allowedHeaders ?? [])].join(", ");
  const exposeHeaders = [...connectCors.exposedHeaders, ...(options.exposedHeaders ?? [])].join(", ");
  return (req, res) => {
    const origin = req.headers.origin;
    if (typeof origin !== "string" || sameOrigin(origin, req.headers[":authority"] ?? req.headers.host)) {
      next(req, res);
      return;
    }
    if (!any && !allowed.has(origin.toLowerCase())) {
      res.writeHead(403, { "content-type": "text/plain; charset=utf-8", vary: "Origin" });
      res.end(`origin ${origin} may not call this server: add it to cors.allowedOrigins (or $PYFLEET_CORS_ORIGINS)\n`);
      return;
    }
    res.setHeader("access-control-allow-origin", origin);
    res.setHeader("vary", "Origin");
    if (req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined) {
      res.writeHead(204, {
        "access-control-allow-methods": allowMethods,
        "access-control-allow-headers": allowHeaders,
        "access-control-max-age": String(MAX_AGE_SECONDS),
      });
      res.end();
      return;
    }
    res.setHeader("access-control-expose-headers", exposeHeaders);
    next(req, res);
  };
}

function sameOrigin(origin: string, host: string | string[] | undefined): boolean {
  if (typeof host !== "string") return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
