import type { ComputeStatus } from "@pyfleet/sdk/gen/pyfleet/compute/v1/compute_pb";
import type { ComputeRecord, JobRecord } from "./records.js";

/** A compute's status change as another replica published it. */
export interface RemoteChange {
  computeId: string;
  previous: ComputeStatus;
  status: ComputeStatus;
  /**
   * Replayed after the replica's listening connection was lost: `status` is
   * the row as a query read it, which may be older than a change heard since.
   */
  replayed?: boolean;
}

/** A replica as the fleet knows it: where peers reach it, and when it last said it was alive. */
export interface ReplicaRecord {
  id: string;
  url: string;
  seenAt: number;
}

/**
 * Everything the control plane keeps: computes, jobs and the request ids that
 * make spawns and jobs idempotent. Two backends implement it and pass one
 * test suite (server/test/compute/store.test.ts): SQLite for one server,
 * Postgres for replicas sharing a fleet. Every write is committed before its
 * promise resolves.
 */
export interface ComputeStore {
  readonly kind: "sqlite" | "postgres";
  /** Whether other servers may write the same records (then upkeep needs a leader and changes travel between replicas). */
  readonly shared: boolean;

  /**
   * Records a new compute, atomically across replicas: when its owner already
   * has a compute with the same client request id, nothing is written and that
   * compute is returned. `admit` runs inside the transaction with the owner's
   * live computes (those not terminated or failed), with every other spawn of
   * the same owner held back; it throws to refuse (budgets).
   */
  createCompute(c: ComputeRecord, admit?: (live: ComputeRecord[]) => void): Promise<ComputeRecord>;
  /** Writes the whole record; with `previous`, also tells the other replicas its status changed. */
  updateCompute(c: ComputeRecord, previous?: ComputeStatus): Promise<void>;
  /**
   * Writes the record only if the stored one still has status `expected`; false when another
   * writer changed it first. With `previous`, a write also tells the other replicas.
   */
  updateComputeIf(c: ComputeRecord, expected: ComputeStatus, previous?: ComputeStatus): Promise<boolean>;
  getCompute(id: string): Promise<ComputeRecord | undefined>;
  computeByRequest(owner: string, clientRequestId: string): Promise<ComputeRecord | undefined>;
  /** Every compute (of `owner`, when given), newest first. */
  allComputes(owner?: string): Promise<ComputeRecord[]>;
  /** Computes not yet terminated or failed, oldest first. */
  liveComputes(): Promise<ComputeRecord[]>;

  /** Records a new job, or returns the owner's job with the same client request id. */
  createJob(j: JobRecord): Promise<JobRecord>;
  updateJob(j: JobRecord): Promise<void>;
  getJob(id: string): Promise<JobRecord | undefined>;
  jobByRequest(owner: string, clientRequestId: string): Promise<JobRecord | undefined>;

  /** Records this replica's address, or refreshes its heartbeat. */
  putReplica(r: ReplicaRecord): Promise<void>;
  getReplica(id: string): Promise<ReplicaRecord | undefined>;
  /** The replicas seen at or after `seenSince`. */
  liveReplicas(seenSince: number): Promise<ReplicaRecord[]>;
  /** Forgets a replica (it stopped) and the session ids it claimed. */
  deleteReplica(id: string): Promise<void>;
  /**
   * Claims a client-chosen session id of `owner` for `replica`, atomically
   * across replicas, and returns the replica that holds it afterwards: the
   * caller, or another replica last seen at or after `staleBefore` (a claim of
   * a replica seen earlier, or of an unknown one, is taken over).
   */
  claimSession(owner: string, sessionId: string, replica: string, staleBefore: number): Promise<string>;
  /** The replica that claimed a client-chosen session id, if any. */
  sessionClaim(owner: string, sessionId: string): Promise<string | undefined>;
  /** Drops a replica's claim (its session ended). */
  releaseSession(owner: string, sessionId: string, replica: string): Promise<void>;

  /** Status changes written by other replicas (never this one's own). Returns the unsubscribe. */
  onRemoteChange(listener: (change: RemoteChange) => void): () => void;
  /**
   * Upkeep leadership: `listener(true)` when this replica becomes the one that
   * runs upkeep, `listener(false)` when it loses it. A store nobody shares
   * elects itself at once.
   */
  onLeadership(listener: (leading: boolean) => void): () => void;
  close(): Promise<void>;
}
