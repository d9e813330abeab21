import { SERVER_VERSION, VERSION_HEADER } from "../version.js";
import { toJsonText } from "./output.js";

const TIMEOUT_MS = 3000;

export interface VersionOptions {
  url: string;
  apiKey?: string;
  json?: boolean;
}

/**
 * The server's version as its `pyfleet-version` header states it, from one
 * Connect JSON health check over node:http(s): no SDK, so `--version` stays fast.
 */
async function serverVersion(url: string, apiKey: string | undefined): Promise<{ version?: string; error?: string }> {
  let target: URL;
  try {
    target = new URL("/grpc.health.v1.Health/Check", url);
  } catch {
    return { error: `--url is not a URL: ${url}` };
  }
  const { request } = target.protocol === "https:" ? await import("node:https") : await import("node:http");
  // node:http refuses a header whose value is undefined, so the key is added only when there is one.
  const headers: Record<string, string> = { "content-type": "application/json", "connect-protocol-version": "1" };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  return new Promise((resolve) => {
    const req = request(target, {
      method: "POST",
      headers,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    }, (res) => {
      res.resume();
      const version = res.headers[VERSION_HEADER];
      resolve(typeof version === "string" ? { version } : { error: `answered HTTP ${res.statusCode} without a ${VERSION_HEADER} header (not pyfleet, or a pyfleet older than 0.1.0)` });
    });
    req.on("error", (e: Error) => resolve({ error: e.name === "AbortError" ? `no answer in ${TIMEOUT_MS / 1000} s` : e.message }));
    req.end("{}");
  });
}

/** `pyfleet --version`: this CLI's version, and the version of the server at --url (or why it is unknown). */
export async function printVersions(opts: VersionOptions): Promise<void> {
  const server = await serverVersion(opts.url, opts.apiKey);
  if (opts.json) {
    process.stdout.write(`${toJsonText({ cli: SERVER_VERSION, node: process.version, server: { url: opts.url, ...server } })}\n`);
    return;
  }
  process.stdout.write(`pyfleet ${SERVER_VERSION} (CLI, Node ${process.version})\n`);
  process.stdout.write(server.version ? `server ${server.version} at ${opts.url}\n` : `server at ${opts.url}: unknown (${server.error})\n`);
}
