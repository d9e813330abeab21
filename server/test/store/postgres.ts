// A real Postgres for tests: Debian's server binaries, a cluster in a temp
// dir on a free port, started per test file and stopped after. initdb runs
// once per machine and Postgres version (a template copied per cluster);
// starting a copy takes a fraction of a second.
import { cpSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import pg from "pg";

const ROOT_BIN = "/usr/lib/postgresql";

/** The newest installed Postgres server's bin dir (PYFLEET_PG_BIN overrides), or a message saying what is missing. */
export function findPostgresBin(): { bin: string; version: string } | { missing: string } {
  const override = process.env.PYFLEET_PG_BIN;
  if (override) return existsSync(join(override, "initdb")) ? { bin: override, version: "custom" } : { missing: `PYFLEET_PG_BIN=${override} has no initdb` };
  const versions = existsSync(ROOT_BIN) ? readdirSync(ROOT_BIN).filter((v) => existsSync(join(ROOT_BIN, v, "bin", "initdb"))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (newest) return { bin: join(ROOT_BIN, newest, "bin"), version: newest };
  return {
    missing: `no Postgres server binaries (looked for ${ROOT_BIN}/*/bin/initdb). The Postgres store tests need Debian's postgresql package: ` +
      "`node scripts/bootstrap.mjs --test` installs it when run as root with apt-get (npm test does this), or run `apt-get install postgresql`, " +
      "or point PYFLEET_PG_BIN at a dir holding initdb and pg_ctl",
  };
}

/** initdb and pg_ctl refuse to run as root: as root, run them as the postgres user. */
function asOwner(cmd: string, args: string[]) {
  return process.getuid?.() === 0 ? execa("runuser", ["-u", "postgres", "--", cmd, ...args]) : execa(cmd, args);
}

async function chownToPostgres(path: string) {
  if (process.getuid?.() === 0) await execa("chown", ["-R", "postgres:postgres", path]);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** An initialized, never started data dir for this Postgres version, made once (racing test files: one rename wins). */
async function template(bin: string, version: string): Promise<string> {
  const dir = join(tmpdir(), `pyfleet-pg-template-${version}-u${process.getuid?.() ?? 0}`);
  if (existsSync(join(dir, "PG_VERSION"))) return dir;
  const work = mkdtempSync(join(tmpdir(), "pyfleet-pg-init-"));
  await chownToPostgres(work);
  await asOwner(join(bin, "initdb"), ["-D", join(work, "data"), "-A", "trust", "-U", "pyfleet", "--no-sync", "-E", "UTF8", "--locale=C"]);
  try {
    renameSync(join(work, "data"), dir);
  } catch {
    // Another test file made it first.
  }
  rmSync(work, { recursive: true, force: true });
  return dir;
}

export interface PostgresServer {
  /** postgres://pyfleet@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  /** A fresh, empty database on this server and its URL. */
  database(): Promise<string>;
  /** Stops the server at once (like a crash: connections drop). */
  kill(): Promise<void>;
  /** Starts it again after kill(), same port and data. */
  start(): Promise<void>;
  /** Stops it and deletes its files. */
  stop(): Promise<void>;
}

let databases = 0;

/** Starts a throwaway Postgres cluster; throws saying what is missing when Postgres is not installed. */
export async function startPostgres(): Promise<PostgresServer> {
  const found = findPostgresBin();
  if ("missing" in found) throw new Error(found.missing);
  const { bin, version } = found;
  const source = await template(bin, version);
  const dir = mkdtempSync(join(tmpdir(), "pyfleet-pg-"));
  const data = join(dir, "data");
  cpSync(source, data, { recursive: true });
  await chownToPostgres(dir);
  const port = await freePort();
  // fsync off keeps the 2-core CI machine quick and survives a killed server
  // (only a machine crash loses data); synchronous_commit stays on, since
  // kill() is an immediate stop and tests check what survives it.
  const options = `-p ${port} -k ${dir} -h 127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200`;
  const start = async () => {
    await asOwner(join(bin, "pg_ctl"), ["-D", data, "-o", options, "-l", join(dir, "log"), "-w", "-t", "30", "start"]);
  };
  const kill = async () => {
    await asOwner(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]);
  };
  await start();
  const url = `postgres://pyfleet@127.0.0.1:${port}/postgres`;
  let running = true;
  return {
    url,
    port,
    async database() {
      const name = `t${process.pid}_${++databases}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://pyfleet@127.0.0.1:${port}/${name}`;
    },
    async kill() {
      await kill();
      running = false;
    },
    async start() {
      await start();
      running = true;
    },
    async stop() {
      if (running) await kill().catch(() => {});
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
