import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import Database from "better-sqlite3";
import { newId } from "../../ids.js";
import { MIGRATIONS } from "./migrations.js";
import {
  COMPUTE_COLUMNS, type ComputeRecord, type ComputeRow, FINAL_STATUSES, fromComputeRow, fromJobRow, JOB_COLUMNS, JOB_UPDATE_COLUMNS,
  type JobRecord, type JobRow, toComputeRow, toJobRow,
} from "./records.js";
import type { ComputeStore, RemoteChange, ReplicaRecord } from "./types.js";

const named = (columns: readonly string[]) => columns.map((c) => `@${c}`).join(", ");
const assignments = (columns: readonly string[]) => columns.map((c) => `${c} = @${c}`).join(", ");
const LIVE = `status NOT IN (${[...FINAL_STATUSES].join(", ")})`;

/** Applies the migrations this file lacks, each in its own transaction. */
function migrate(db: Database.Database) {
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)");
  const applied = new Set((db.prepare("SELECT version FROM schema_migrations").all() as { version: number }[]).map((r) => r.version));
  const record = db.prepare("INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)");
  const done = db.prepare("SELECT 1 FROM schema_migrations WHERE version = ?");
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      // Processes of one `serve --processes N` open the file together: one applies, the others find it done.
      if (done.get(m.version)) return;
      db.exec(m.sqlite);
      record.run(m.version, m.description, Date.now());
    }).immediate();
  }
}

export interface SqliteStoreOptions {
  /**
   * Several processes use the file (`pyfleet serve --processes N`): upkeep
   * runs on the one holding a lease row, and status changes travel through a
   * change log each process polls.
   */
  shared?: boolean;
  /** How often a shared store renews or tries for the lease and reads the change log. */
  checkMs?: number;
}

/** A lease not renewed this long is free: upkeep moves within it (plus a check) when its process dies. */
const LEASE_MS = 3_000;
/** Change log rows older than this are deleted (every process has read them long before). */
const CHANGE_LOG_KEEP_MS = 60_000;

/**
 * The embedded store: one SQLite file (WAL), used by one server, or by the
 * processes of one `pyfleet serve --processes N` (shared). better-sqlite3
 * is synchronous, so each method finishes its write before its promise
 * exists; the promises only match the shared interface.
 */
export class SqliteStore implements ComputeStore {
  readonly kind = "sqlite";
  readonly shared: boolean;
  /** Names this process in the lease and the change log. */
  private readonly origin = newId("proc");
  private readonly db: Database.Database;
  private readonly statements;
  private readonly remoteListeners = new Set<(change: RemoteChange) => void>();
  private readonly leaderListeners = new Set<(leading: boolean) => void>();
  private leading = false;
  private lastSeq = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(file: string, options: SqliteStoreOptions = {}) {
    this.shared = options.shared ?? false;
    if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    // busy_timeout first: the processes of `serve --processes N` open the file at once.
    this.db.pragma("busy_timeout = 5000");
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    migrate(this.db);
    this.statements = {
      insertCompute: this.db.prepare(`INSERT INTO computes (${COMPUTE_COLUMNS.join(", ")}) VALUES (${named(COMPUTE_COLUMNS)})`),
      updateCompute: this.db.prepare(`UPDATE computes SET ${assignments(COMPUTE_COLUMNS.slice(1))} WHERE id = @id`),
      updateComputeIf: this.db.prepare(`UPDATE computes SET ${assignments(COMPUTE_COLUMNS.slice(1))} WHERE id = @id AND status = @expected`),
      getCompute: this.db.prepare("SELECT * FROM computes WHERE id = ?"),
      byRequest: this.db.prepare("SELECT * FROM computes WHERE owner = ? AND client_request_id = ?"),
      allComputes: this.db.prepare("SELECT * FROM computes ORDER BY created_at DESC, id DESC"),
      ownerComputes: this.db.prepare("SELECT * FROM computes WHERE owner = ? ORDER BY created_at DESC, id DESC"),
      liveComputes: this.db.prepare(`SELECT * FROM computes WHERE ${LIVE} ORDER BY created_at, id`),
      liveOfOwner: this.db.prepare(`SELECT * FROM computes WHERE owner = ? AND ${LIVE} ORDER BY created_at, id`),
      insertJob: this.db.prepare(`INSERT INTO jobs (${JOB_COLUMNS.join(", ")}) VALUES (${named(JOB_COLUMNS)})`),
      updateJob: this.db.prepare(`UPDATE jobs SET ${assignments(JOB_UPDATE_COLUMNS)} WHERE id = @id`),
      getJob: this.db.prepare("SELECT * FROM jobs WHERE id = ?"),
      jobByRequest: this.db.prepare("SELECT * FROM jobs WHERE owner = ? AND client_request_id = ?"),
      putReplica: this.db.prepare("INSERT INTO replicas (id, url, seen_at) VALUES (@id, @url, @seenAt) ON CONFLICT (id) DO UPDATE SET url = excluded.url, seen_at = excluded.seen_at"),
      getReplica: this.db.prepare("SELECT id, url, seen_at AS seenAt FROM replicas WHERE id = ?"),
      deleteReplica: this.db.prepare("DELETE FROM replicas WHERE id = ?"),
      liveReplicas: this.db.prepare("SELECT id, url, seen_at AS seenAt FROM replicas WHERE seen_at >= ? ORDER BY id"),
      deleteClaims: this.db.prepare("DELETE FROM session_claims WHERE replica = ?"),
      claimSession: this.db.prepare(`INSERT INTO session_claims (owner, session_id, replica) VALUES (@owner, @sessionId, @replica)
        ON CONFLICT (owner, session_id) DO UPDATE SET replica = excluded.replica
        WHERE session_claims.replica = excluded.replica
           OR NOT EXISTS (SELECT 1 FROM replicas r WHERE r.id = session_claims.replica AND r.seen_at >= @staleBefore)`),
      sessionClaim: this.db.prepare("SELECT replica FROM session_claims WHERE owner = ? AND session_id = ?"),
      releaseSession: this.db.prepare("DELETE FROM session_claims WHERE owner = ? AND session_id = ? AND replica = ?"),
      takeLease: this.db.prepare(`INSERT INTO leases (name, holder, until) VALUES ('upkeep', @holder, @until)
        ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until WHERE leases.holder = excluded.holder OR leases.until < @now`),
      leaseHolder: this.db.prepare("SELECT holder FROM leases WHERE name = 'upkeep'"),
      dropLease: this.db.prepare("DELETE FROM leases WHERE name = 'upkeep' AND holder = ?"),
      logChange: this.db.prepare("INSERT INTO compute_changes (origin, compute_id, previous, status, at) VALUES (?, ?, ?, ?, ?)"),
      changesAfter: this.db.prepare("SELECT seq, origin, compute_id AS computeId, previous, status FROM compute_changes WHERE seq > ? ORDER BY seq"),
      lastChange: this.db.prepare("SELECT coalesce(max(seq), 0) AS seq FROM compute_changes"),
      pruneChanges: this.db.prepare("DELETE FROM compute_changes WHERE at < ?"),
    };
    if (this.shared) {
      this.lastSeq = (this.statements.lastChange.get() as { seq: number }).seq;
      this.timer = setInterval(() => this.check(), options.checkMs ?? 250);
      this.timer.unref();
      queueMicrotask(() => this.check());
    }
  }

  createCompute(c: ComputeRecord, admit?: (live: ComputeRecord[]) => void): Promise<ComputeRecord> {
    // IMMEDIATE takes the write lock first, so a second process on the same
    // file (serve --processes) waits instead of checking a stale budget.
    return this.attempt(() => this.db.transaction(() => {
      if (c.clientRequestId) {
        const existing = this.statements.byRequest.get(c.owner, c.clientRequestId) as ComputeRow | undefined;
        if (existing) return fromComputeRow(existing);
      }
      admit?.((this.statements.liveOfOwner.all(c.owner) as ComputeRow[]).map(fromComputeRow));
      this.statements.insertCompute.run(toComputeRow(c));
      this.log(c, 0);
      return c;
    }).immediate());
  }

  updateCompute(c: ComputeRecord, previous?: ComputeStatus): Promise<void> {
    return this.attempt(() => this.db.transaction(() => {
      this.statements.updateCompute.run(toComputeRow(c));
      if (previous !== undefined) this.log(c, previous);
    })());
  }

  updateComputeIf(c: ComputeRecord, expected: ComputeStatus, previous?: ComputeStatus): Promise<boolean> {
    return this.attempt(() => this.db.transaction(() => {
      const written = this.statements.updateComputeIf.run({ ...toComputeRow(c), expected }).changes === 1;
      if (written && previous !== undefined) this.log(c, previous);
      return written;
    })());
  }

  getCompute(id: string): Promise<ComputeRecord | undefined> {
    return this.attempt(() => this.compute(this.statements.getCompute.get(id)));
  }

  computeByRequest(owner: string, clientRequestId: string): Promise<ComputeRecord | undefined> {
    return this.attempt(() => this.compute(this.statements.byRequest.get(owner, clientRequestId)));
  }

  allComputes(owner?: string): Promise<ComputeRecord[]> {
    return this.attempt(() => {
      const rows = owner === undefined ? this.statements.allComputes.all() : this.statements.ownerComputes.all(owner);
      return (rows as ComputeRow[]).map(fromComputeRow);
    });
  }

  liveComputes(): Promise<ComputeRecord[]> {
    return this.attempt(() => (this.statements.liveComputes.all() as ComputeRow[]).map(fromComputeRow));
  }

  createJob(j: JobRecord): Promise<JobRecord> {
    return this.attempt(() => this.db.transaction(() => {
      if (j.clientRequestId) {
        const existing = this.statements.jobByRequest.get(j.owner, j.clientRequestId) as JobRow | undefined;
        if (existing) return fromJobRow(existing);
      }
      this.statements.insertJob.run(toJobRow(j));
      return j;
    }).immediate());
  }

  updateJob(j: JobRecord): Promise<void> {
    const row = toJobRow(j);
    return this.attempt(() => void this.statements.updateJob.run(Object.fromEntries(["id", ...JOB_UPDATE_COLUMNS].map((k) => [k, row[k as keyof JobRow]]))));
  }

  getJob(id: string): Promise<JobRecord | undefined> {
    return this.attempt(() => this.job(this.statements.getJob.get(id)));
  }

  jobByRequest(owner: string, clientRequestId: string): Promise<JobRecord | undefined> {
    return this.attempt(() => this.job(this.statements.jobByRequest.get(owner, clientRequestId)));
  }

  putReplica(r: ReplicaRecord): Promise<void> {
    return this.attempt(() => void this.statements.putReplica.run(r));
  }

  getReplica(id: string): Promise<ReplicaRecord | undefined> {
    return this.attempt(() => this.statements.getReplica.get(id) as ReplicaRecord | undefined);
  }

  liveReplicas(seenSince: number): Promise<ReplicaRecord[]> {
    return this.attempt(() => this.statements.liveReplicas.all(seenSince) as ReplicaRecord[]);
  }

  deleteReplica(id: string): Promise<void> {
    return this.attempt(() => this.db.transaction(() => {
      this.statements.deleteReplica.run(id);
      this.statements.deleteClaims.run(id);
    }).immediate());
  }

  claimSession(owner: string, sessionId: string, replica: string, staleBefore: number): Promise<string> {
    return this.attempt(() => this.db.transaction(() => {
      this.statements.claimSession.run({ owner, sessionId, replica, staleBefore });
      return (this.statements.sessionClaim.get(owner, sessionId) as { replica: string }).replica;
    }).immediate());
  }

  sessionClaim(owner: string, sessionId: string): Promise<string | undefined> {
    return this.attempt(() => (this.statements.sessionClaim.get(owner, sessionId) as { replica: string } | undefined)?.replica);
  }

  releaseSession(owner: string, sessionId: string, replica: string): Promise<void> {
    return this.attempt(() => void this.statements.releaseSession.run(owner, sessionId, replica));
  }

  onRemoteChange(listener: (change: RemoteChange) => void): () => void {
    this.remoteListeners.add(listener);
    return () => this.remoteListeners.delete(listener);
  }

  onLeadership(listener: (leading: boolean) => void): () => void {
    if (!this.shared) {
      let active = true;
      queueMicrotask(() => active && listener(true));
      return () => {
        active = false;
      };
    }
    this.leaderListeners.add(listener);
    if (this.leading) queueMicrotask(() => this.leaderListeners.has(listener) && listener(true));
    return () => this.leaderListeners.delete(listener);
  }

  close(): Promise<void> {
    clearInterval(this.timer);
    if (this.shared && this.db.open) {
      // Hand upkeep on at once rather than after the lease runs out.
      if (this.leading) this.statements.dropLease.run(this.origin);
      this.setLeading(false);
    }
    this.db.close();
    return Promise.resolve();
  }

  /** Records a status change for the other processes (shared mode only), in the write's transaction. */
  private log(c: ComputeRecord, previous: ComputeStatus) {
    if (this.shared) this.statements.logChange.run(this.origin, c.id, previous, c.status, Date.now());
  }

  /** Shared mode, on a timer: renew or try for the upkeep lease, then hand on the other processes' changes. */
  private check() {
    if (!this.db.open) return;
    try {
      const now = Date.now();
      this.statements.takeLease.run({ holder: this.origin, until: now + LEASE_MS, now });
      const leading = (this.statements.leaseHolder.get() as { holder: string } | undefined)?.holder === this.origin;
      if (leading) this.statements.pruneChanges.run(now - CHANGE_LOG_KEEP_MS);
      this.setLeading(leading);
      const changes = this.statements.changesAfter.all(this.lastSeq) as { seq: number; origin: string; computeId: string; previous: number; status: number }[];
      for (const change of changes) {
        this.lastSeq = change.seq;
        if (change.origin === this.origin) continue;
        for (const l of this.remoteListeners) l({ computeId: change.computeId, previous: change.previous, status: change.status });
      }
    } catch {
      // SQLITE_BUSY past busy_timeout: the next check tries again; a missed renewal only risks the lease.
    }
  }

  private setLeading(leading: boolean) {
    if (this.leading === leading) return;
    this.leading = leading;
    for (const l of this.leaderListeners) l(leading);
  }

  private compute(row: unknown): ComputeRecord | undefined {
    return row ? fromComputeRow(row as ComputeRow) : undefined;
  }

  private job(row: unknown): JobRecord | undefined {
    return row ? fromJobRow(row as JobRow) : undefined;
  }

  /** Runs a synchronous statement, turning its throw into a rejection like the Postgres store's. */
  private attempt<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }
}
