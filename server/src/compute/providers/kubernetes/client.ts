import { readFileSync } from "node:fs";
import { AppsV1Api, BatchV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { PyfleetError } from "../../../errors.js";

export interface KubeAccess {
  /** A kubeconfig file; default in-cluster when run in a pod, else KUBECONFIG or ~/.kube/config. */
  kubeconfig?: string | undefined;
  context?: string | undefined;
  namespace?: string | undefined;
}

export interface RetryOptions {
  retries: number;
  /** Per attempt; a call that takes longer is given up and retried. */
  timeoutMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
}

const SA_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/** Loads cluster access the way kubectl does, plus the service account inside a pod. */
export function loadKubeConfig(access: KubeAccess, env: NodeJS.ProcessEnv = process.env): { kc: KubeConfig; namespace: string } {
  const kc = new KubeConfig();
  const inCluster = !access.kubeconfig && !env.KUBECONFIG && Boolean(env.KUBERNETES_SERVICE_HOST);
  try {
    if (access.kubeconfig) kc.loadFromFile(access.kubeconfig);
    else if (inCluster) kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (e) {
    throw new PyfleetError("invalid_argument", `kubernetes: cannot load the kubeconfig${access.kubeconfig ? ` "${access.kubeconfig}"` : ""}: ${(e as Error).message}`);
  }
  if (access.context) {
    if (!kc.getContexts().some((c) => c.name === access.context)) {
      throw new PyfleetError("invalid_argument",
        `kubernetes: no context "${access.context}" in the kubeconfig; it has: ${kc.getContexts().map((c) => c.name).join(", ") || "none"}`);
    }
    kc.setCurrentContext(access.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new PyfleetError("invalid_argument",
      "kubernetes: no cluster to talk to: set the provider's kubeconfig (and context), KUBECONFIG, or run the server in a pod");
  }
  let namespace = access.namespace;
  if (!namespace && inCluster) {
    try {
      namespace = readFileSync(SA_NAMESPACE, "utf8").trim();
    } catch {
      namespace = undefined;
    }
  }
  namespace ||= kc.getContextObject(kc.getCurrentContext())?.namespace || "default";
  return { kc, namespace };
}

/** A Kubernetes Status body, as the API server sends with errors. */
interface Status {
  reason?: string;
  message?: string;
  code?: number;
}

function statusOf(e: unknown): { code: number; status: Status; retryAfterS: number } | undefined {
  const err = e as { code?: unknown; statusCode?: unknown; body?: unknown; headers?: Record<string, string> };
  const code = typeof err.code === "number" ? err.code : typeof err.statusCode === "number" ? err.statusCode : undefined;
  if (code === undefined) return undefined;
  let status: Status = {};
  if (typeof err.body === "string") {
    try {
      status = JSON.parse(err.body) as Status;
    } catch {
      status = { message: err.body };
    }
  } else if (err.body && typeof err.body === "object") {
    status = err.body as Status;
  }
  const retryAfterS = Number(err.headers?.["retry-after"] ?? 0) || 0;
  return { code, status, retryAfterS };
}

/** What a call does, for error messages: `create` `pods`. */
export interface Op {
  verb: string;
  resource: string;
  name?: string;
}

/**
 * The official client's typed APIs, with one error policy: 409 Conflict,
 * 429, 5xx and network failures are retried with backoff; the rest become
 * PyfleetErrors with the contract's codes (403 names the verb and resource
 * the service account lacks).
 */
export class KubeClient {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly batch: BatchV1Api;

  constructor(readonly kc: KubeConfig, readonly namespace: string, readonly retry: RetryOptions) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.batch = kc.makeApiClient(BatchV1Api);
  }

  backoffMs(attempt: number): number {
    const cap = Math.min(this.retry.maxBackoffMs, this.retry.minBackoffMs * 2 ** attempt);
    return cap / 2 + Math.random() * (cap / 2);
  }

  async call<T>(op: Op, fn: () => Promise<T>, retries = this.retry.retries): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([fn(), new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.retry.timeoutMs} ms`)), this.retry.timeoutMs);
        })]);
      } catch (e) {
        const err = this.translate(op, e);
        if (!err.retryable || attempt >= retries) throw err.error;
        await new Promise((resolve) => setTimeout(resolve, Math.max(err.retryAfterMs, this.backoffMs(attempt))));
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** The PyfleetError for a failed call, and whether it is worth retrying. */
  translate(op: Op, e: unknown): { error: PyfleetError; retryable: boolean; retryAfterMs: number } {
    const what = `${op.verb} ${op.resource}${op.name ? ` "${op.name}"` : ""} in namespace "${this.namespace}"`;
    const s = statusOf(e);
    if (!s) {
      const message = e instanceof Error ? e.message : String(e);
      return { error: new PyfleetError("unavailable", `kubernetes: ${what}: cannot reach the API server: ${message}`, undefined, { cause: e }), retryable: true, retryAfterMs: 0 };
    }
    const detail = s.status.message || `HTTP ${s.code}`;
    const plain = (code: ConstructorParameters<typeof PyfleetError>[0], message: string, retryable = false) =>
      ({ error: new PyfleetError(code, message, undefined, { cause: e }), retryable, retryAfterMs: s.retryAfterS * 1000 });
    if (s.code === 403) {
      return plain("permission_denied",
        `kubernetes: ${what} is forbidden: the provider's identity needs verb "${op.verb}" on resource "${op.resource}" ` +
        `in namespace "${this.namespace}" (deploy/ has the Role it needs); the API server said: ${detail}`);
    }
    if (s.code === 401) return plain("unauthenticated", `kubernetes: ${what}: the API server rejected the credentials: ${detail}`);
    if (s.code === 404) return plain("not_found", `kubernetes: ${what}: not found`);
    if (s.code === 409 && s.status.reason === "AlreadyExists") return plain("already_exists", `kubernetes: ${what}: ${detail}`);
    if (s.code === 410) return plain("aborted", `kubernetes: ${what}: ${detail}`);
    if (s.code === 409 || s.code === 429 || s.code >= 500) return plain("unavailable", `kubernetes: ${what}: ${detail}`, true);
    if (s.code === 400 || s.code === 422) return plain("invalid_argument", `kubernetes: ${what}: the API server refused it: ${detail}`);
    return plain("unknown", `kubernetes: ${what}: ${detail}`);
  }
}
