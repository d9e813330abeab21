import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import Database from "better-sqlite3";
import { MIGRATIONS } from "./migrations.js";
import {
  COMPUTE_COLUMNS, type ComputeRecord, type ComputeRow, FINAL_STATUSES, fromComputeRow, fromJobRow, JOB_COLUMNS, JOB_UPDATE_COLUMNS,
  type JobRecord, type JobRow, toComputeRow, toJobRow,
} from "./records.js";
import type { ComputeStore, RemoteChange } from "./types.js";

const named = (columns: readonly string[]) => columns.map((c) => `@${c}`).join(", ");
const assignments = (columns: readonly string[]) => columns.map((c) => `${c} = @${c}`).join(", ");
const LIVE = `status NOT IN (${[...FINAL_STATUSES].join(", ")})`;

/** Applies the migrations this file lacks, each in its own transaction. */
function migrate(db: Database.Database) {
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)");
  const applied = new Set((db.prepare("SELECT version FROM schema_migrations").all() as { version: number }[]).map((r) => r.version));
  const record = db.prepare("INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)");
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sqlite);
      record.run(m.version, m.description, Date.now());
    }).immediate();
  }
}

/**
 * The embedded store: one SQLite file (WAL) that only this server uses.
 * better-sqlite3 is synchronous, so each method finishes its write before
 * its promise exists; the promises only match the shared interface.
 */
export class SqliteStore implements ComputeStore {
  readonly kind = "sqlite";
  readonly shared = false;
  private readonly db: Database.Database;
  private readonly statements;

  constructor(file: string) {
    if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("busy_timeout = 5000");
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
    };
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
      return c;
    }).immediate());
  }

  updateCompute(c: ComputeRecord): Promise<void> {
    return this.attempt(() => void this.statements.updateCompute.run(toComputeRow(c)));
  }

  updateComputeIf(c: ComputeRecord, expected: ComputeStatus): Promise<boolean> {
    return this.attempt(() => this.statements.updateComputeIf.run({ ...toComputeRow(c), expected }).changes === 1);
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

  onRemoteChange(_listener: (change: RemoteChange) => void): () => void {
    return () => {};
  }

  onLeadership(listener: (leading: boolean) => void): () => void {
    let active = true;
    queueMicrotask(() => active && listener(true));
    return () => {
      active = false;
    };
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
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
