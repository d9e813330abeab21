// KubeClient's error policy, with the official client's own ApiException (no cluster needed).
import { ApiException, KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { KubeClient } from "../../../src/compute/providers/kubernetes/client.js";

function client(retries = 3): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: "https://127.0.0.1:1" }], users: [{ name: "u" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }], currentContext: "x",
  });
  return new KubeClient(kc, "ml", { retries, minBackoffMs: 1, maxBackoffMs: 2, timeoutMs: 1_000 });
}

const status = (code: number, reason: string, message: string, headers: Record<string, string> = {}) =>
  new ApiException(code, "HTTP error", JSON.stringify({ kind: "Status", code, reason, message }), headers);

describe("KubeClient.call", () => {
  it("retries 409 Conflict, 429 and 5xx, then answers", async () => {
    const failures = [status(409, "Conflict", "the object has been modified"), status(429, "TooManyRequests", "slow down", { "retry-after": "0" }), status(503, "ServiceUnavailable", "etcd")];
    let calls = 0;
    const result = await client().call({ verb: "patch", resource: "deployments", name: "d" }, async () => {
      calls++;
      const f = failures.shift();
      if (f) throw f;
      return "ok";
    });
    expect(result).toBe("ok");
    expect(calls).toBe(4);
  });

  it("gives up after its retries with UNAVAILABLE and the server's message", async () => {
    let calls = 0;
    const err = await client(2).call({ verb: "create", resource: "pods" }, async () => {
      calls++;
      throw status(500, "InternalError", "etcdserver: request timed out");
    }).catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect(err).toMatchObject({ code: "unavailable", message: 'kubernetes: create pods in namespace "ml": etcdserver: request timed out' });
  });

  it("does not retry AlreadyExists, 403, 404 or 422, and names the verb and resource a 403 lacks", async () => {
    const c = client();
    const once = async (e: unknown) => {
      let calls = 0;
      const err = await c.call({ verb: "create", resource: "pods", name: "pf-1" }, async () => {
        calls++;
        throw e;
      }).catch((x: unknown) => x);
      return { calls, err };
    };
    expect(await once(status(409, "AlreadyExists", 'pods "pf-1" already exists'))).toMatchObject({ calls: 1, err: { code: "already_exists" } });
    expect(await once(status(404, "NotFound", "nope"))).toMatchObject({ calls: 1, err: { code: "not_found" } });
    expect(await once(status(422, "Invalid", "spec.containers[0].image: Required value"))).toMatchObject({
      calls: 1, err: { code: "invalid_argument", message: 'kubernetes: create pods "pf-1" in namespace "ml": the API server refused it: spec.containers[0].image: Required value' },
    });
    const forbidden = await once(status(403, "Forbidden", 'pods is forbidden: User "system:serviceaccount:ml:pyfleet" cannot create resource "pods"'));
    expect(forbidden.calls).toBe(1);
    expect(forbidden.err).toMatchObject({
      code: "permission_denied",
      message: 'kubernetes: create pods "pf-1" in namespace "ml" is forbidden: the provider\'s identity needs verb "create" on resource "pods" in namespace "ml" ' +
        '(deploy/ has the Role it needs); the API server said: pods is forbidden: User "system:serviceaccount:ml:pyfleet" cannot create resource "pods"',
    });
  });

  it("retries a network failure and a call that does not answer in time", async () => {
    const c = new KubeClient(client().kc, "ml", { retries: 1, minBackoffMs: 1, maxBackoffMs: 2, timeoutMs: 50 });
    let calls = 0;
    const err = await c.call({ verb: "list", resource: "pods" }, () => {
      calls++;
      return new Promise<never>(() => undefined);
    }).catch((e: unknown) => e);
    expect(calls).toBe(2);
    expect(err).toMatchObject({ code: "unavailable", message: 'kubernetes: list pods in namespace "ml": cannot reach the API server: no answer within 50 ms' });
  });
});
