import type { ComputeStore, ReplicaRecord } from "../compute/index.js";
import type { Logger } from "../log/index.js";
import { newReplicaId, sessionIdSuffix } from "./ids.js";

export interface FleetOptions {
  logger: Logger;
  /** How often this replica writes its heartbeat. */
  heartbeatMs?: number;
  /** A replica whose heartbeat is older than this is gone. */
  staleMs?: number;
}

/** Heartbeat every 2 s; gone after 5 missed beats, so a slow store write does not declare anyone dead. */
const HEARTBEAT_MS = 2_000;
const STALE_MS = 10_000;
/** How long a peer's address is reused before it is read again (a forwarded call should not cost a store query each). */
const LOCATE_CACHE_MS = 1_000;

/**
 * This server as one replica of a fleet: its id (which its generated session
 * ids carry), its address and heartbeat in the shared store, and where the
 * other replicas are. With one server and SQLite it is a fleet of one.
 */
export class Fleet {
  readonly id = newReplicaId();
  readonly sessionIdSuffix = sessionIdSuffix(this.id);
  readonly staleMs: number;
  private readonly logger: Logger;
  private readonly cache = new Map<string, { record: ReplicaRecord | undefined; at: number }>();
  private address = "";
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly store: ComputeStore, private readonly options: FleetOptions) {
    this.logger = options.logger.child({ component: "fleet" });
    this.staleMs = options.staleMs ?? STALE_MS;
  }

  /** Where the other replicas reach this one; "" until it joined. */
  get url(): string {
    return this.address;
  }

  /** Registers this replica at `url` (what its peers dial) and starts its heartbeat. */
  async join(url: string): Promise<void> {
    this.address = url.replace(/\/$/, "");
    await this.beat();
    this.timer = setInterval(() => {
      // A failed beat (store unreachable) is retried by the next; peers only call this replica gone after staleMs.
      this.beat().catch((e: unknown) => this.logger.warn({ err: (e as Error).message }, "fleet heartbeat failed; retrying"));
    }, this.options.heartbeatMs ?? HEARTBEAT_MS);
    this.timer.unref();
    this.logger.info({ replica: this.id, url: this.address }, `replica ${this.id}: peers reach it at ${this.address}`);
  }

  /** A live replica by id (this one included), or undefined when it stopped or missed its heartbeats. */
  async locate(id: string, now = Date.now()): Promise<ReplicaRecord | undefined> {
    const hit = this.cache.get(id);
    const record = hit && now - hit.at < LOCATE_CACHE_MS ? hit.record : await this.store.getReplica(id);
    if (!hit || hit.record !== record) this.cache.set(id, { record, at: now });
    return record && record.seenAt >= now - this.staleMs ? record : undefined;
  }

  /** The other live replicas. */
  async peers(now = Date.now()): Promise<ReplicaRecord[]> {
    return (await this.store.liveReplicas(now - this.staleMs)).filter((r) => r.id !== this.id);
  }

  /** Drops what this replica remembers of a peer (a call to it found nobody listening). */
  forget(id: string): void {
    this.cache.delete(id);
  }

  /** The replica that owns a client-chosen session id, when one claimed it. */
  claimOf(owner: string, sessionId: string): Promise<string | undefined> {
    return this.store.sessionClaim(owner, sessionId);
  }

  /** Claims a client-chosen session id for this replica; returns the live replica holding it (this one, or another). */
  claim(owner: string, sessionId: string, now = Date.now()): Promise<string> {
    return this.store.claimSession(owner, sessionId, this.id, now - this.staleMs);
  }

  release(owner: string, sessionId: string): Promise<void> {
    return this.store.releaseSession(owner, sessionId, this.id);
  }

  /** Leaves the fleet: peers answer for this replica's sessions at once that its server is gone. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    // A beat in flight must not write the row back after it is deleted.
    await this.beating.catch(() => {});
    await this.store.deleteReplica(this.id).catch((e: unknown) => this.logger.warn({ err: (e as Error).message }, "could not remove this replica from the store; peers will find it gone after its heartbeat lapses"));
  }

  private beat(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.beating = this.store.putReplica({ id: this.id, url: this.address, seenAt: Date.now() });
    return this.beating;
  }
}
