import pRetry, { AbortError } from "p-retry";
import { computeDefaults } from "../../../config/defaults.js";
import { type ErrorCode, PyfleetError } from "../../../errors.js";

export interface RunPodClientOptions {
  apiKey: string;
  /** REST API for pods. */
  restUrl: string;
  /** Serverless endpoints API. */
  serverlessUrl: string;
  /** REST API v2, for pod logs; default computeDefaults.runpodLogsUrl. */
  logsUrl?: string;
  /** Retries after the first attempt, on 429, 5xx, timeouts and network errors. */
  retries: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  /** Per attempt. */
  timeoutMs: number;
}

/** One Server-Sent Event. */
export interface SseEvent {
  id: string;
  event: string;
  data: string;
}

/** The events of a text/event-stream body (the WHATWG format: fields, blank line ends an event). */
async function* sse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  let event: SseEvent = { id: "", event: "", data: "" };
  let data: string[] = [];
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    const lines = buffer.split("\n");
    buffer = lines.pop() ?? "";
    for (const raw of lines) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line === "") {
        if (data.length > 0) yield { ...event, data: data.join("\n") };
        event = { id: event.id, event: "", data: "" };
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "data") data.push(value);
      else if (field === "id") event.id = value;
      else if (field === "event") event.event = value;
    }
  }
}

/** Retryable failures carry the code they map to once retries run out. */
class RetryableError extends Error {
  constructor(message: string, readonly retryAfterMs?: number) {
    super(message);
  }
}

function mapStatus(status: number): ErrorCode {
  if (status === 401) return "unauthenticated";
  if (status === 403) return "permission_denied";
  if (status === 404) return "not_found";
  if (status === 400 || status === 422) return "invalid_argument";
  if (status === 409) return "already_exists";
  return "unavailable";
}

function describe(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown; message?: unknown };
    const text = parsed.error ?? parsed.message;
    if (typeof text === "string") return text;
  } catch {
    // not JSON
  }
  return body.slice(0, 200).trim() || "(no body)";
}

/**
 * HTTP to RunPod: bearer auth, JSON, a timeout per attempt, retries with
 * exponential backoff and jitter (honouring Retry-After), and HTTP errors
 * mapped to the contract's codes. The API key never appears in an error.
 */
export class RunPodClient {
  constructor(private readonly options: RunPodClientOptions) {}

  /** `retries` overrides the configured count (0: one attempt; the caller handles retrying). */
  rest<T>(method: string, path: string, body?: unknown, retries = this.options.retries): Promise<T> {
    return this.request<T>(method, `${this.options.restUrl}${path}`, body, retries);
  }

  serverless<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.request<T>(method, `${this.options.serverlessUrl}${path}`, body, this.options.retries);
  }

  /**
   * A Server-Sent Events stream of the v2 API (pod logs), until it ends or
   * `signal` aborts. One attempt: the caller decides whether to ask again.
   */
  async *events(path: string, signal: AbortSignal): AsyncGenerator<SseEvent> {
    const url = `${this.options.logsUrl ?? computeDefaults.runpodLogsUrl}${path}`;
    const what = `RunPod GET ${new URL(url).pathname}`;
    let res: Response;
    try {
      res = await fetch(url, { headers: { authorization: `Bearer ${this.options.apiKey}`, accept: "text/event-stream" }, signal });
    } catch (e) {
      if (signal.aborted) return;
      throw new PyfleetError("unavailable", `${what} failed: ${(e as Error).message}; RunPod may be down, retry later`);
    }
    if (!res.ok || !res.body) {
      const text = await res.text();
      const code = res.status === 429 || res.status >= 500 ? "unavailable" : mapStatus(res.status);
      throw new PyfleetError(code, `${what} answered HTTP ${res.status}: ${describe(text)}`);
    }
    try {
      yield* sse(res.body);
    } catch (e) {
      if (!signal.aborted) throw new PyfleetError("unavailable", `${what}: the stream broke: ${(e as Error).message}`);
    }
  }

  /** The backoff before retry number `attempt` (1-based): exponential with full jitter. */
  backoffMs(attempt: number): number {
    const ceiling = Math.min(this.options.maxBackoffMs, this.options.minBackoffMs * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + Math.random() * ceiling / 2);
  }

  get retries(): number {
    return this.options.retries;
  }

  private async request<T>(method: string, url: string, body: unknown, retries: number): Promise<T> {
    const what = `RunPod ${method} ${new URL(url).pathname}`;
    // fetch would send an undefined header value as the text "undefined", so the key is added only with a body.
    const headers: Record<string, string> = { authorization: `Bearer ${this.options.apiKey}`, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    try {
      return await pRetry(async () => {
        let res: Response;
        try {
          res = await fetch(url, {
            method,
            headers,
            body: body === undefined ? undefined : JSON.stringify(body),
            signal: AbortSignal.timeout(this.options.timeoutMs),
          });
        } catch (e) {
          const timeout = (e as Error).name === "TimeoutError";
          throw new RetryableError(timeout ? `${what} timed out after ${this.options.timeoutMs} ms` : `${what} failed: ${(e as Error).message}`);
        }
        const text = await res.text();
        if (res.status === 429 || res.status >= 500) {
          const retryAfter = Number(res.headers.get("retry-after"));
          throw new RetryableError(`${what} answered HTTP ${res.status}: ${describe(text)}`, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
        }
        if (!res.ok) {
          const code = mapStatus(res.status);
          const hint = code === "unauthenticated" ? " (check the RunPod API key: config or RUNPOD_API_KEY)" : "";
          throw new AbortError(new PyfleetError(code, `${what} answered HTTP ${res.status}: ${describe(text)}${hint}`));
        }
        if (text.trim() === "") return undefined as T;
        try {
          return JSON.parse(text) as T;
        } catch {
          throw new RetryableError(`${what} answered with malformed JSON: ${text.slice(0, 100)}`);
        }
      }, {
        retries,
        minTimeout: this.options.minBackoffMs,
        maxTimeout: this.options.maxBackoffMs,
        factor: 2,
        randomize: true,
        onFailedAttempt: async ({ error }) => {
          const wait = (error as RetryableError).retryAfterMs;
          if (wait) await new Promise((resolve) => setTimeout(resolve, Math.min(wait, this.options.maxBackoffMs)));
        },
      });
    } catch (e) {
      if (e instanceof PyfleetError) throw e;
      const inner = (e as { originalError?: unknown }).originalError ?? e;
      if (inner instanceof PyfleetError) throw inner;
      throw new PyfleetError("unavailable", `${(inner as Error).message}${retries > 0 ? ` (after ${retries + 1} attempts)` : ""}; RunPod may be down or rate-limiting, retry later`);
    }
  }
}
