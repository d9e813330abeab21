import type { JsonValue } from "@bufbuild/protobuf";
import type { Capabilities, GpuType, Job, JobSpec, Machine, MachineSpec } from "@pyfleet/sdk/gen/pyfleet/provider/v1/types_pb";

export type ProviderKind = "mock" | "local" | "runpod" | "kubernetes" | "remote";

export interface ListFilter {
  /** Machines carrying all of these labels. */
  labels?: Record<string, string>;
  includeTerminated?: boolean;
}

/** A line of a machine's log. */
export interface MachineLogLine {
  text: string;
  /** When the machine wrote it (ms since the epoch), if the provider says. */
  time?: number;
  /** "container", "system", a pod's name, or "". */
  source: string;
}

export interface MachineLogOptions {
  /** After the newest lines, wait for new ones until the log ends or `signal` aborts. */
  follow: boolean;
  /** How many of the newest lines first. */
  tail: number;
  signal: AbortSignal;
}

/** One message of StreamJob: a partial output, or the job's final state. */
export type JobEvent = { output: JsonValue } | { job: Job };

/**
 * A cloud, as the orchestrator sees it. It mirrors pyfleet.provider.v1.ProviderService
 * (and speaks its messages), so any implementation can be served as, or be, a
 * ProviderService endpoint. Errors are PyfleetErrors with the contract's codes.
 */
export interface Provider {
  readonly name: string;
  readonly kind: ProviderKind;
  capabilities(): Promise<Capabilities>;
  /** Idempotent by `requestId`: a repeated spawn returns the machine the first created. */
  spawn(spec: MachineSpec, requestId: string): Promise<Machine>;
  get(id: string): Promise<Machine>;
  list(filter?: ListFilter): Promise<Machine[]>;
  stop(id: string): Promise<Machine>;
  start(id: string): Promise<Machine>;
  terminate(id: string): Promise<Machine>;
  gpuTypes(): Promise<GpuType[]>;
  runJob(spec: JobSpec): Promise<Job>;
  getJob(id: string): Promise<Job>;
  cancelJob(id: string): Promise<Job>;
  streamJob(id: string, signal: AbortSignal): AsyncIterable<JobEvent>;
  /**
   * The machine's log in batches of lines, oldest first; absent where the
   * provider keeps none (the orchestrator answers UNIMPLEMENTED).
   */
  logs?(id: string, options: MachineLogOptions): AsyncIterable<MachineLogLine[]>;
  /** Back to a clean state (test providers); UNIMPLEMENTED elsewhere. */
  reset(): Promise<void>;
  /**
   * Whether a RUNNING machine's ports must answer before it counts as ready.
   * False where endpoints are not reachable from here (mock).
   */
  readonly probesPorts: boolean;
  close?(): Promise<void>;
}

/** The label every machine pyfleet spawns carries, naming its compute. */
export const COMPUTE_LABEL = "pyfleet.compute-id";
/** The label naming the tenant (API key name; "" when auth is off) a machine belongs to. */
export const OWNER_LABEL = "pyfleet.owner";
/** The label marking machines pyfleet manages (the reaper looks for it). */
export const MANAGED_LABEL = "pyfleet.managed";
