import { describe, expect, it } from "vitest";
import { SessionStore } from "../../src/pool/sessions/store.js";

const limits = { maxSessions: 2, defaultTtlMs: 10_000, maxVariables: 10, maxVariableBytes: 1024 };

describe("session store", () => {
  it("isolates tenants: another tenant's session is not found", () => {
    const store = new SessionStore("p", limits, () => {});
    const s = store.create({ owner: "alice" });
    expect(store.get(s.id, "alice").id).toBe(s.id);
    expect(() => store.get(s.id, "bob")).toThrow(expect.objectContaining({ code: "not_found" }));
  });

  it("scopes client-chosen ids per tenant: the same id in another tenant is a session of its own", () => {
    const ended: string[] = [];
    const store = new SessionStore("p", { ...limits, maxSessions: 10 }, (s, reason) => ended.push(`${s.owner}:${s.id}:${reason}`));
    const alice = store.create({ owner: "alice", sessionId: "shared" });
    const bob = store.create({ owner: "bob", sessionId: "shared" });
    expect(bob).not.toBe(alice);
    expect([alice.key, bob.key]).toEqual(["alice/shared", "bob/shared"]);
    expect(store.get("shared", "alice")).toBe(alice);
    expect(store.get("shared", "bob")).toBe(bob);
    expect(store.findByKey("bob/shared")).toBe(bob);
    expect(() => store.create({ owner: "bob", sessionId: "shared" })).toThrow(expect.objectContaining({ code: "already_exists" }));
    store.delete("shared", "bob");
    expect(ended).toEqual(["bob:shared:deleted"]);
    expect(store.get("shared", "alice")).toBe(alice);
    expect(store.find("shared", "bob")).toBeUndefined();
  });

  it("expires sessions after their TTL from last use, and reports why they ended", () => {
    const ended: string[] = [];
    const store = new SessionStore("p", limits, (s, reason) => ended.push(`${s.id}:${reason}`));
    const s = store.create({ owner: "", ttlMs: 1_000, sessionId: "mine" }, 0);
    store.touch(s, 900);
    expect(store.find("mine", "", 1_800)?.id).toBe("mine");
    expect(store.find("mine", "", 2_000)).toBeUndefined();
    expect(ended).toEqual(["mine:expired"]);
  });

  it("enforces the session quota and unique client ids", () => {
    const store = new SessionStore("p", limits, () => {});
    store.create({ owner: "", sessionId: "a" });
    expect(() => store.create({ owner: "", sessionId: "a" })).toThrow(expect.objectContaining({ code: "already_exists" }));
    store.create({ owner: "" });
    expect(() => store.create({ owner: "" })).toThrow(expect.objectContaining({ code: "resource_exhausted" }));
  });

  it("validates ttl, ids and labels", () => {
    const store = new SessionStore("p", limits, () => {});
    expect(() => store.create({ owner: "", ttlMs: 10 })).toThrow(/ttl/);
    expect(() => store.create({ owner: "", sessionId: "bad id!" })).toThrow(/session_id/);
    expect(() => store.create({ owner: "", labels: { ["k".repeat(64)]: "v" } })).toThrow(/labels/);
  });

  it("lists newest first, a page at a time", () => {
    const store = new SessionStore("p", { ...limits, maxSessions: 10 }, () => {});
    for (const id of ["s1", "s2", "s3"]) store.create({ owner: "", sessionId: id });
    const first = store.list("", 2, "");
    expect(first.sessions.map((s) => s.id)).toEqual(["s3", "s2"]);
    const second = store.list("", 2, first.nextPageToken);
    expect(second.sessions.map((s) => s.id)).toEqual(["s1"]);
    expect(second.nextPageToken).toBe("");
    expect(() => store.list("", 2, "bogus")).toThrow(expect.objectContaining({ code: "invalid_argument" }));
  });

  it("indexes sessions by pinned worker", () => {
    const store = new SessionStore("p", { ...limits, maxSessions: 10 }, () => {});
    const a = store.create({ owner: "" });
    const b = store.create({ owner: "" });
    store.pin(a, "w1");
    store.pin(b, "w2");
    store.pin(b, "w1");
    expect(store.takePinned("w1").map((s) => s.id).sort()).toEqual([a.id, b.id].sort());
    expect(store.takePinned("w2")).toEqual([]);
  });
});
