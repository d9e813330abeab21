// Just over 400 lines on purpose: one ComputeStore implementation (computes,
// jobs, budgets, replicas, session claims, LISTEN/NOTIFY) must stay one class
// to share its pool and listener; row mapping and migrations live beside it.
import type { ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import pg from "pg";
import { PyfleetError } from "../../errors.js";
import { newId } from "../../ids.js";
import type { Logger } from "../../log/index.js";
import { MIGRATIONS } from "./migrations.js";
import {
  COMPUTE_COLUMNS, type ComputeRecord, type ComputeRow, FINAL_STATUSES, fromComputeRow, fromJobRow, JOB_COLUMNS, JOB_UPDATE_COLUMNS,
  type JobRecord, type JobRow, toComputeRow, toJobRow,
} from "./records.js";
import type { ComputeStore, RemoteChange, ReplicaRecord } from "./types.js";

/** Advisory lock keys (two-int form): class 0x70796674 ("pyft"), then what is locked. */
const LOCK_CLASS = 0x70796674;
const MIGRATE_LOCK = 1;
const UPKEEP_LOCK = 2;
/** Per-owner spawn lock: the second key is hashtext(owner) within this class. */
const OWNER_LOCK_CLASS = LOCK_CLASS + 1;
const CHANNEL = "pyfleet_computes";
const LIVE = `status NOT IN (${[...FINAL_STATUSES].join(", ")})`;
const params = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(", ");
const INT8_OID = 20;
/**
 * Replay after the listening connection comes back reaches this far before the
 * last moment it was known to hear everything: the writers' clocks stamp
 * updated_at, and replicas' clocks may disagree by this much.
 */
const REPLAY_SLACK_MS = 5_000;

/** BIGINT columns (ms timestamps) come back as numbers; they stay far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") => (oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format as "text"))) as pg.CustomTypesConfig["getTypeParser"],
};

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  logger: Logger;
  /** Connections in the pool. */
  poolSize?: number;
  /** How often leadership and the listening connection are checked. */
  leaseCheckMs?: number;
}

/** Whether an error means Postgres is out of reach (retrying later may work) rather than a bad query. */
function unreachable(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? "";
  return /^(ECONN|ENOTFOUND|EAI_|ETIMEDOUT|EPIPE|EHOSTUNREACH)/.test(code) || code.startsWith("08") || code.startsWith("57P")
    || /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(String((e as Error).message));
}

function translate(e: unknown): Error {
  if (e instanceof PyfleetError) return e;
  if (unreachable(e)) {
    return new PyfleetError("unavailable", `the compute store (Postgres) is unreachable: ${(e as Error).message}; retry shortly`, undefined, { cause: e });
  }
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * The shared store: Postgres, for several pyfleet servers (replicas) forming
 * one fleet. Spawns of one owner serialize on a transaction-scoped advisory
 * lock (request ids and budgets hold across replicas); status changes travel
 * by NOTIFY; upkeep leadership is a session advisory lock held on one
 * dedicated connection, so it is released the moment that replica's
 * connection dies.
 */
export class PostgresStore implements ComputeStore {
  readonly kind = "postgres";
  readonly shared = true;
  /** Names this replica in NOTIFY payloads so it skips its own changes. */
  readonly replicaId = newId("rep");
  private readonly pool: pg.Pool;
  private readonly logger: Logger;
  private readonly remoteListeners = new Set<(change: RemoteChange) => void>();
  private readonly leaderListeners = new Set<(leading: boolean) => void>();
  private session: pg.Client | undefined;
  /** When the listening connection last proved alive: every change committed before then was heard. 0 before it first connected. */
  private heardUntil = 0;
  private leading = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  private constructor(private readonly options: PostgresStoreOptions) {
    this.logger = options.logger.child({ component: "store" });
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      types,
    });
    // An idle pooled connection that dies (Postgres restarted) is dropped by
    // the pool; without this listener its error would end the process.
    this.pool.on("error", (e) => this.logger.warn({ err: e.message }, "a pooled Postgres connection failed; it is replaced on next use"));
  }

  /** Connects, applies pending migrations, then starts listening and competing for upkeep. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options);
    try {
      await store.migrate();
    } catch (e) {
      await store.pool.end();
      throw translate(e);
    }
    store.timer = setInterval(() => void store.check(), options.leaseCheckMs ?? 1_000);
    store.timer.unref();
    await store.check();
    return store;
  }

  async createCompute(c: ComputeRecord, admit?: (live: ComputeRecord[]) => void): Promise<ComputeRecord> {
    return this.transaction(async (client) => {
      await client.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [OWNER_LOCK_CLASS, c.owner]);
      if (c.clientRequestId) {
        const existing = await client.query<ComputeRow>("SELECT * FROM computes WHERE owner = $1 AND client_request_id = $2", [c.owner, c.clientRequestId]);
        if (existing.rows[0]) return fromComputeRow(existing.rows[0]);
      }
      if (admit) admit((await client.query<ComputeRow>(`SELECT * FROM computes WHERE owner = $1 AND ${LIVE} ORDER BY created_at, id`, [c.owner])).rows.map(fromComputeRow));
      const row = toComputeRow(c);
      await client.query(`INSERT INTO computes (${COMPUTE_COLUMNS.join(", ")}) VALUES (${params(COMPUTE_COLUMNS.length)})`, COMPUTE_COLUMNS.map((k) => row[k]));
      await client.query("SELECT pg_notify($1, $2)", [CHANNEL, this.payload(c, 0)]);
      return c;
    });
  }

  async updateCompute(c: ComputeRecord, previous?: ComputeStatus): Promise<void> {
    const row = toComputeRow(c);
    const values: unknown[] = COMPUTE_COLUMNS.map((k) => row[k]);
    const set = COMPUTE_COLUMNS.slice(1).map((k, i) => `${k} = $${i + 2}`).join(", ");
    if (previous === undefined) {
      await this.query(`UPDATE computes SET ${set} WHERE id = $1`, values);
      return;
    }
    // One statement: the row and its notification commit together.
    values.push(CHANNEL, this.payload(c, previous));
    await this.query(`UPDATE computes SET ${set} WHERE id = $1 RETURNING pg_notify($${values.length - 1}, $${values.length})`, values);
  }

  async updateComputeIf(c: ComputeRecord, expected: ComputeStatus, previous?: ComputeStatus): Promise<boolean> {
    const row = toComputeRow(c);
    const values: unknown[] = [...COMPUTE_COLUMNS.map((k) => row[k]), expected];
    const set = COMPUTE_COLUMNS.slice(1).map((k, i) => `${k} = $${i + 2}`).join(", ");
    let notify = "";
    if (previous !== undefined) {
      // As in updateCompute: the row and its notification commit together, and only when written.
      values.push(CHANNEL, this.payload(c, previous));
      notify = ` RETURNING pg_notify($${values.length - 1}, $${values.length})`;
    }
    const result = await this.query(`UPDATE computes SET ${set} WHERE id = $1 AND status = $${COMPUTE_COLUMNS.length + 1}${notify}`, values);
    return result.rowCount === 1;
  }

  async getCompute(id: string): Promise<ComputeRecord | undefined> {
    const row = (await this.query<ComputeRow>("SELECT * FROM computes WHERE id = $1", [id])).rows[0];
    return row && fromComputeRow(row);
  }

  async computeByRequest(owner: string, clientRequestId: string): Promise<ComputeRecord | undefined> {
    const row = (await this.query<ComputeRow>("SELECT * FROM computes WHERE owner = $1 AND client_request_id = $2", [owner, clientRequestId])).rows[0];
    return row && fromComputeRow(row);
  }

  async allComputes(owner?: string): Promise<ComputeRecord[]> {
    const result = owner === undefined
      ? await this.query<ComputeRow>("SELECT * FROM computes ORDER BY created_at DESC, id DESC")
      : await this.query<ComputeRow>("SELECT * FROM computes WHERE owner = $1 ORDER BY created_at DESC, id DESC", [owner]);
    return result.rows.map(fromComputeRow);
  }

  async liveComputes(): Promise<ComputeRecord[]> {
    return (await this.query<ComputeRow>(`SELECT * FROM computes WHERE ${LIVE} ORDER BY created_at, id`)).rows.map(fromComputeRow);
  }

  async createJob(j: JobRecord): Promise<JobRecord> {
    const row = toJobRow(j);
    // ON CONFLICT on the partial unique index: of two racing RunJobs with one
    // request id, one inserts and both read back the winner.
    const inserted = await this.query<JobRow>(
      `INSERT INTO jobs (${JOB_COLUMNS.join(", ")}) VALUES (${params(JOB_COLUMNS.length)})
       ON CONFLICT (owner, client_request_id) WHERE client_request_id <> '' DO NOTHING RETURNING *`,
      JOB_COLUMNS.map((k) => row[k]));
    if (inserted.rows[0]) return fromJobRow(inserted.rows[0]);
    const existing = await this.jobByRequest(j.owner, j.clientRequestId);
    if (!existing) throw new PyfleetError("aborted", `job request id "${j.clientRequestId}" raced with another request; retry`);
    return existing;
  }

  async updateJob(j: JobRecord): Promise<void> {
    const row = toJobRow(j);
    await this.query(`UPDATE jobs SET ${JOB_UPDATE_COLUMNS.map((k, i) => `${k} = $${i + 2}`).join(", ")} WHERE id = $1`, [j.id, ...JOB_UPDATE_COLUMNS.map((k) => row[k])]);
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    const row = (await this.query<JobRow>("SELECT * FROM jobs WHERE id = $1", [id])).rows[0];
    return row && fromJobRow(row);
  }

  async jobByRequest(owner: string, clientRequestId: string): Promise<JobRecord | undefined> {
    const row = (await this.query<JobRow>("SELECT * FROM jobs WHERE owner = $1 AND client_request_id = $2", [owner, clientRequestId])).rows[0];
    return row && fromJobRow(row);
  }

  async putReplica(r: ReplicaRecord): Promise<void> {
    await this.query("INSERT INTO replicas (id, url, seen_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, seen_at = EXCLUDED.seen_at", [r.id, r.url, r.seenAt]);
  }

  async getReplica(id: string): Promise<ReplicaRecord | undefined> {
    const row = (await this.query<{ id: string; url: string; seen_at: number }>("SELECT id, url, seen_at FROM replicas WHERE id = $1", [id])).rows[0];
    return row && { id: row.id, url: row.url, seenAt: row.seen_at };
  }

  async liveReplicas(seenSince: number): Promise<ReplicaRecord[]> {
    const rows = (await this.query<{ id: string; url: string; seen_at: number }>("SELECT id, url, seen_at FROM replicas WHERE seen_at >= $1 ORDER BY id", [seenSince])).rows;
    return rows.map((row) => ({ id: row.id, url: row.url, seenAt: row.seen_at }));
  }

  async deleteReplica(id: string): Promise<void> {
    await this.query("WITH gone AS (DELETE FROM replicas WHERE id = $1) DELETE FROM session_claims WHERE replica = $1", [id]);
  }

  async claimSession(owner: string, sessionId: string, replica: string, staleBefore: number): Promise<string> {
    // One statement: a live holder keeps its claim, a stale or unknown one loses it.
    const won = await this.query<{ replica: string }>(
      `INSERT INTO session_claims (owner, session_id, replica) VALUES ($1, $2, $3)
       ON CONFLICT (owner, session_id) DO UPDATE SET replica = EXCLUDED.replica
       WHERE session_claims.replica = EXCLUDED.replica
          OR NOT EXISTS (SELECT 1 FROM replicas r WHERE r.id = session_claims.replica AND r.seen_at >= $4)
       RETURNING replica`, [owner, sessionId, replica, staleBefore]);
    if (won.rows[0]) return won.rows[0].replica;
    return (await this.sessionClaim(owner, sessionId)) ?? replica;
  }

  async sessionClaim(owner: string, sessionId: string): Promise<string | undefined> {
    return (await this.query<{ replica: string }>("SELECT replica FROM session_claims WHERE owner = $1 AND session_id = $2", [owner, sessionId])).rows[0]?.replica;
  }

  async releaseSession(owner: string, sessionId: string, replica: string): Promise<void> {
    await this.query("DELETE FROM session_claims WHERE owner = $1 AND session_id = $2 AND replica = $3", [owner, sessionId, replica]);
  }

  onRemoteChange(listener: (change: RemoteChange) => void): () => void {
    this.remoteListeners.add(listener);
    return () => this.remoteListeners.delete(listener);
  }

  onLeadership(listener: (leading: boolean) => void): () => void {
    this.leaderListeners.add(listener);
    if (this.leading) queueMicrotask(() => this.leaderListeners.has(listener) && listener(true));
    return () => this.leaderListeners.delete(listener);
  }

  /** Whether this replica runs upkeep now. */
  get isLeader(): boolean {
    return this.leading;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.setLeading(false);
    const session = this.session;
    this.session = undefined;
    await session?.end().catch(() => {});
    await this.pool.end();
  }

  // ---- internals ----------------------------------------------------------------

  private payload(c: ComputeRecord, previous: ComputeStatus): string {
    return JSON.stringify({ o: this.replicaId, id: c.id, p: previous, s: c.status });
  }

  private async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values);
    } catch (e) {
      throw translate(e);
    }
  }

  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw translate(e);
    }
    let broken: unknown;
    try {
      await client.query("BEGIN");
      const out = await fn(client);
      await client.query("COMMIT");
      return out;
    } catch (e) {
      await client.query("ROLLBACK").catch((rollback: unknown) => {
        broken = rollback;
      });
      throw translate(e);
    } finally {
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  private async migrate() {
    await this.transaction(async (client) => {
      // Replicas starting together: one applies, the others wait here and then find nothing to do.
      await client.query("SELECT pg_advisory_xact_lock($1, $2)", [LOCK_CLASS, MIGRATE_LOCK]);
      await client.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)");
      const applied = new Set((await client.query<{ version: number }>("SELECT version FROM schema_migrations")).rows.map((r) => r.version));
      for (const m of MIGRATIONS) {
        if (applied.has(m.version)) continue;
        await client.query(m.postgres);
        await client.query("INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)", [m.version, m.description, Date.now()]);
        this.logger.info({ version: m.version }, `store: applied migration ${m.version} (${m.description})`);
      }
    });
  }

  /**
   * Keeps the session connection (LISTEN + the upkeep lock) alive: reconnects
   * it when it died, tries for leadership when not leading, and checks the
   * connection when leading (a dead one means the lock is gone too).
   */
  private async check() {
    if (this.checking || this.closed) return;
    this.checking = true;
    try {
      if (!this.session) await this.connectSession();
      const session = this.session;
      if (!session) return;
      // Notifications committed before a query reach the connection before its answer.
      const asked = Date.now();
      if (this.leading) {
        await session.query("SELECT 1");
      } else {
        const got = (await session.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, $2) AS ok", [LOCK_CLASS, UPKEEP_LOCK])).rows[0]?.ok === true;
        if (got && this.session === session && !this.closed) {
          this.logger.info({ replica: this.replicaId }, "this replica runs upkeep now");
          this.setLeading(true);
        }
      }
      if (this.session === session) this.heardUntil = asked;
    } catch (e) {
      this.dropSession(e);
    } finally {
      this.checking = false;
    }
  }

  private async connectSession() {
    const client = new pg.Client({ connectionString: this.options.url, connectionTimeoutMillis: 3_000, query_timeout: 3_000, types });
    client.on("error", (e) => this.dropSession(e, client));
    client.on("notification", (n) => this.deliver(n.payload));
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    if (this.closed) {
      await client.end();
      return;
    }
    this.session = client;
    if (this.heardUntil > 0) await this.replay(this.heardUntil - REPLAY_SLACK_MS);
  }

  /**
   * After the listening connection was lost, NOTIFYs sent meanwhile are gone:
   * hands on every compute changed since `since` as a change (its status as it
   * is now; the one before is unknown), so watchers miss none. One seen
   * already may come again.
   */
  private async replay(since: number) {
    const rows = (await this.query<ComputeRow>("SELECT * FROM computes WHERE updated_at >= $1 ORDER BY updated_at, id", [since])).rows;
    if (rows.length > 0) this.logger.info({ computes: rows.length }, "listening to other replicas again: replaying the computes changed meanwhile");
    for (const row of rows) {
      for (const l of this.remoteListeners) l({ computeId: row.id, previous: 0, status: row.status, replayed: true });
    }
  }

  private dropSession(e: unknown, which?: pg.Client) {
    if (which && which !== this.session) return;
    const session = this.session;
    this.session = undefined;
    if (this.leading) this.logger.warn({ err: e instanceof Error ? e.message : e }, "lost the Postgres session: this replica no longer runs upkeep");
    this.setLeading(false);
    void session?.end().catch(() => {});
  }

  private setLeading(leading: boolean) {
    if (this.leading === leading) return;
    this.leading = leading;
    for (const l of this.leaderListeners) l(leading);
  }

  private deliver(payload: string | undefined) {
    if (!payload) return;
    let change: { o: string; id: string; p: number; s: number };
    try {
      change = JSON.parse(payload) as typeof change;
    } catch {
      return;
    }
    if (change.o === this.replicaId) return;
    for (const l of this.remoteListeners) l({ computeId: change.id, previous: change.p, status: change.s });
  }
}
