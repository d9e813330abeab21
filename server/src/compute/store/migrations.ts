/**
 * Versioned schema migrations, applied in order at start by both backends
 * and recorded in schema_migrations. Append new versions; never edit an
 * applied one. Version 1 is the schema SQLite stores had before migrations
 * existed (hence IF NOT EXISTS: those files adopt it as-is).
 */
export interface Migration {
  version: number;
  description: string;
  sqlite: string;
  postgres: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: "computes and jobs, unique client request ids per owner",
    sqlite: `
CREATE TABLE IF NOT EXISTS computes (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  provider TEXT NOT NULL,
  provider_id TEXT NOT NULL DEFAULT '',
  status INTEGER NOT NULL,
  status_message TEXT NOT NULL DEFAULT '',
  spec BLOB NOT NULL,
  gpu_type TEXT NOT NULL DEFAULT '',
  cost_per_hour REAL NOT NULL DEFAULT 0,
  endpoints TEXT NOT NULL DEFAULT '[]',
  client_request_id TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  ready_at INTEGER,
  last_active_at INTEGER NOT NULL,
  idle_ttl_ms INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS computes_request ON computes(owner, client_request_id) WHERE client_request_id <> '';
CREATE INDEX IF NOT EXISTS computes_status ON computes(status);
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  provider TEXT NOT NULL,
  provider_job_id TEXT NOT NULL DEFAULT '',
  endpoint TEXT NOT NULL,
  status INTEGER NOT NULL,
  input TEXT NOT NULL DEFAULT 'null',
  output TEXT NOT NULL DEFAULT 'null',
  error TEXT NOT NULL DEFAULT '',
  client_request_id TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_request ON jobs(owner, client_request_id) WHERE client_request_id <> '';
`,
    postgres: `
CREATE TABLE computes (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  provider TEXT NOT NULL,
  provider_id TEXT NOT NULL DEFAULT '',
  status INTEGER NOT NULL,
  status_message TEXT NOT NULL DEFAULT '',
  spec BYTEA NOT NULL,
  gpu_type TEXT NOT NULL DEFAULT '',
  cost_per_hour DOUBLE PRECISION NOT NULL DEFAULT 0,
  endpoints TEXT NOT NULL DEFAULT '[]',
  client_request_id TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  ready_at BIGINT,
  last_active_at BIGINT NOT NULL,
  idle_ttl_ms BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX computes_request ON computes(owner, client_request_id) WHERE client_request_id <> '';
CREATE INDEX computes_status ON computes(status);
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  provider TEXT NOT NULL,
  provider_job_id TEXT NOT NULL DEFAULT '',
  endpoint TEXT NOT NULL,
  status INTEGER NOT NULL,
  input TEXT NOT NULL DEFAULT 'null',
  output TEXT NOT NULL DEFAULT 'null',
  error TEXT NOT NULL DEFAULT '',
  client_request_id TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  finished_at BIGINT
);
CREATE UNIQUE INDEX jobs_request ON jobs(owner, client_request_id) WHERE client_request_id <> '';
`,
  },
  {
    version: 2,
    description: "index for a tenant's computes (List, budgets)",
    sqlite: "CREATE INDEX IF NOT EXISTS computes_owner ON computes(owner, created_at);",
    postgres: "CREATE INDEX computes_owner ON computes(owner, created_at);",
  },
  {
    version: 3,
    description: "replicas (address and heartbeat) and client-chosen session ids' owners, for session forwarding; SQLite: upkeep lease and change log for several processes on one file",
    sqlite: `
CREATE TABLE IF NOT EXISTS replicas (id TEXT PRIMARY KEY, url TEXT NOT NULL, seen_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS session_claims (owner TEXT NOT NULL, session_id TEXT NOT NULL, replica TEXT NOT NULL, PRIMARY KEY (owner, session_id));
CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, until INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS compute_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, origin TEXT NOT NULL, compute_id TEXT NOT NULL, previous INTEGER NOT NULL, status INTEGER NOT NULL, at INTEGER NOT NULL);
`,
    postgres: `
CREATE TABLE replicas (id TEXT PRIMARY KEY, url TEXT NOT NULL, seen_at BIGINT NOT NULL);
CREATE TABLE session_claims (owner TEXT NOT NULL, session_id TEXT NOT NULL, replica TEXT NOT NULL, PRIMARY KEY (owner, session_id));
`,
  },
];
