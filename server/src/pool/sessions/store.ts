import { PyfleetError } from "../../errors.js";
import { newId } from "../../ids.js";
import { page } from "../../paging.js";
import { type VariableLimits, VariableStore } from "./variables.js";

export type AffinityMode = "hint" | "strict_queue" | "strict_fail_fast";

/** One session. Kept small: a pool may hold 100,000 of them. */
export interface SessionRecord {
  readonly id: string;
  /**
   * Unique among all tenants' sessions of the pool (ids are per tenant): what
   * workers know the session by, and what their callbacks name it by.
   */
  readonly key: string;
  readonly pool: string;
  readonly owner: string;
  readonly affinity: AffinityMode;
  readonly ttlMs: number;
  readonly createdAt: number;
  readonly labels: Readonly<Record<string, string>> | undefined;
  lastUsedAt: number;
  /** The worker it is pinned to; undefined until its first call or after a hint session lost its worker. */
  workerId: string | undefined;
  /** When the pinned worker died and its session-local state was lost. */
  stateLostAt: number | undefined;
  /** A strict session whose worker died: every further call is UNAVAILABLE. */
  broken: boolean;
  /** A hint session whose worker died: its next call re-pins it (and emits an event). */
  repinPending: boolean;
  calls: number;
  errors: number;
  repins: number;
  variables: VariableStore | undefined;
}

export interface CreateSessionInput {
  owner: string;
  affinity?: AffinityMode;
  ttlMs?: number;
  sessionId?: string;
  /** Appended to generated ids (never to client-chosen ones): the server's replica tag, e.g. ".rep_…". */
  idSuffix?: string;
  labels?: Record<string, string>;
}

export interface SessionLimits extends VariableLimits {
  maxSessions: number;
  defaultTtlMs: number;
}

export type SessionEndReason = "deleted" | "expired" | "closed";

const MIN_TTL_MS = 1_000;
const MAX_TTL_MS = 7 * 24 * 3600_000;
const CLIENT_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_LABELS = 32;

/** A session's key: ids cannot hold "/", so the tenant prefix keeps keys of different tenants apart. */
function sessionKey(owner: string, id: string): string {
  return owner === "" ? id : `${owner}/${id}`;
}

/** The id a tenant knows its session by, from the session's key. */
export function sessionIdOfKey(key: string, owner: string): string {
  return owner !== "" && key.startsWith(`${owner}/`) ? key.slice(owner.length + 1) : key;
}

/**
 * A pool's sessions: creation, lookup with tenant isolation, TTL, pinning.
 * Ids are per tenant: another tenant choosing the same id gets a session of
 * its own, and learns nothing about the first.
 */
export class SessionStore {
  /** By key (tenant and id). */
  private readonly sessions = new Map<string, SessionRecord>();
  /** worker id -> sessions pinned to it, so a death touches only those. */
  private readonly byWorker = new Map<string, Set<SessionRecord>>();

  constructor(
    private readonly pool: string,
    private readonly limits: SessionLimits,
    private readonly onEnd: (session: SessionRecord, reason: SessionEndReason) => void,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  create(input: CreateSessionInput, now = Date.now()): SessionRecord {
    const ttlMs = input.ttlMs ?? this.limits.defaultTtlMs;
    if (ttlMs < MIN_TTL_MS || ttlMs > MAX_TTL_MS) {
      throw new PyfleetError("invalid_argument", `ttl must be between 1s and 7 days (got ${ttlMs} ms)`);
    }
    if (input.sessionId !== undefined && input.sessionId !== "" && !CLIENT_ID.test(input.sessionId)) {
      throw new PyfleetError("invalid_argument", `session_id "${input.sessionId}" must be 1-64 letters, digits, '_' or '-'`);
    }
    const labels = input.labels && Object.keys(input.labels).length > 0 ? input.labels : undefined;
    if (labels) {
      const keys = Object.keys(labels);
      if (keys.length > MAX_LABELS) throw new PyfleetError("invalid_argument", `labels: at most ${MAX_LABELS} labels (got ${keys.length})`);
      const long = keys.find((k) => k.length === 0 || k.length > 63);
      if (long !== undefined) throw new PyfleetError("invalid_argument", `labels: key "${long}" must be 1-63 characters`);
    }
    this.sweep(now);
    if (this.sessions.size >= this.limits.maxSessions) {
      throw new PyfleetError("resource_exhausted", `pool "${this.pool}" has ${this.sessions.size} open sessions (maxSessions); delete unused sessions or wait for their TTL`);
    }
    const id = input.sessionId || newId("ses") + (input.idSuffix ?? "");
    const key = sessionKey(input.owner, id);
    if (this.sessions.has(key)) throw new PyfleetError("already_exists", `session "${id}" already exists`);
    const session: SessionRecord = {
      id,
      key,
      pool: this.pool,
      owner: input.owner,
      affinity: input.affinity ?? "hint",
      ttlMs,
      createdAt: now,
      labels,
      lastUsedAt: now,
      workerId: undefined,
      stateLostAt: undefined,
      broken: false,
      repinPending: false,
      calls: 0,
      errors: 0,
      repins: 0,
      variables: undefined,
    };
    this.sessions.set(key, session);
    return session;
  }

  /** The caller's live session; NOT_FOUND for unknown, expired, or another tenant's. */
  get(id: string, owner: string, now = Date.now()): SessionRecord {
    const session = this.find(id, owner, now);
    if (!session) {
      throw new PyfleetError("not_found", `no session "${id}" (it may have expired; sessions live for their TTL after their last use)`);
    }
    return session;
  }

  /** The tenant's live session with this id, or undefined. */
  find(id: string, owner: string, now = Date.now()): SessionRecord | undefined {
    return this.findByKey(sessionKey(owner, id), now);
  }

  /** A live session by its key (as workers name it), or undefined. */
  findByKey(key: string, now = Date.now()): SessionRecord | undefined {
    const session = this.sessions.get(key);
    if (session && now - session.lastUsedAt > session.ttlMs) {
      this.end(session, "expired");
      return undefined;
    }
    return session;
  }

  touch(session: SessionRecord, now = Date.now()): void {
    session.lastUsedAt = now;
  }

  variables(session: SessionRecord): VariableStore {
    session.variables ??= new VariableStore(this.limits);
    return session.variables;
  }

  /** The caller's sessions, newest first. */
  owned(owner: string, now = Date.now()): SessionRecord[] {
    this.sweep(now);
    return [...this.sessions.values()].filter((s) => s.owner === owner).reverse();
  }

  /** The caller's sessions, newest first, a page at a time. */
  list(owner: string, pageSize: number, pageToken: string, now = Date.now()): { sessions: SessionRecord[]; nextPageToken: string } {
    const { items, nextPageToken } = page(this.owned(owner, now), pageSize, pageToken, "session");
    return { sessions: items, nextPageToken };
  }

  delete(id: string, owner: string): void {
    this.end(this.get(id, owner), "deleted");
  }

  pin(session: SessionRecord, workerId: string): void {
    if (session.workerId === workerId) return;
    if (session.workerId) this.byWorker.get(session.workerId)?.delete(session);
    session.workerId = workerId;
    let set = this.byWorker.get(workerId);
    if (!set) this.byWorker.set(workerId, (set = new Set()));
    set.add(session);
  }

  /** How many sessions are pinned to a worker. */
  pinnedTo(workerId: string): number {
    return this.byWorker.get(workerId)?.size ?? 0;
  }

  /** The sessions pinned to a worker that died; the index entry is dropped. */
  takePinned(workerId: string): SessionRecord[] {
    const set = this.byWorker.get(workerId);
    this.byWorker.delete(workerId);
    return set ? [...set] : [];
  }

  /** Ends every session whose TTL has passed. */
  sweep(now = Date.now()): number {
    let expired = 0;
    for (const session of this.sessions.values()) {
      if (now - session.lastUsedAt > session.ttlMs) {
        this.end(session, "expired");
        expired++;
      }
    }
    return expired;
  }

  /** Ends every session (the pool is closing). */
  closeAll(): void {
    for (const session of [...this.sessions.values()]) this.end(session, "closed");
  }

  private end(session: SessionRecord, reason: SessionEndReason) {
    if (!this.sessions.delete(session.key)) return;
    if (session.workerId) this.byWorker.get(session.workerId)?.delete(session);
    session.variables?.close();
    this.onEnd(session, reason);
  }
}
