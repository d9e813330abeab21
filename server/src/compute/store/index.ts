import { join } from "node:path";
import { PyfleetError } from "../../errors.js";
import type { Logger } from "../../log/index.js";
import { PostgresStore } from "./postgres.js";
import { SqliteStore } from "./sqlite.js";
import type { ComputeStore } from "./types.js";

export { MIGRATIONS, type Migration } from "./migrations.js";
export { PostgresStore, type PostgresStoreOptions } from "./postgres.js";
export { ComputeStatus, FINAL_STATUSES, JobStatus, type ComputeRecord, type JobRecord } from "./records.js";
export { SqliteStore, type SqliteStoreOptions } from "./sqlite.js";
export type { ComputeStore, RemoteChange, ReplicaRecord } from "./types.js";

/**
 * Opens the store a server's config names: a postgres:// URL (replicas share
 * it), or, by default, the SQLite file compute.sqlite in the data dir.
 */
export async function openStore(location: string | undefined, deps: { dataDir: string; logger: Logger; sharedFile?: boolean }): Promise<ComputeStore> {
  // sharedFile: the processes of one `serve --processes N` use one SQLite file.
  const sqlite = { shared: deps.sharedFile ?? false };
  if (!location || location === "sqlite") return new SqliteStore(join(deps.dataDir, "compute.sqlite"), sqlite);
  if (/^postgres(ql)?:\/\//.test(location)) return PostgresStore.open({ url: location, logger: deps.logger });
  if (location.startsWith("sqlite:")) return new SqliteStore(location.slice("sqlite:".length), sqlite);
  throw new PyfleetError("invalid_argument", `store: "${location}" is not a store; use a postgres://user@host:port/database URL, sqlite:FILE, or leave it out for SQLite in the data dir`);
}
