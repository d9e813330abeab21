import { PyfleetError } from "../errors.js";
import type { Pool } from "./pool.js";
import type { SessionRecord } from "./sessions/index.js";

/** The server's pools by name, with the default pool for requests that name none. */
export class PoolRegistry {
  private readonly pools = new Map<string, Pool>();

  constructor(pools: Pool[], readonly defaultPool: string) {
    for (const pool of pools) this.pools.set(pool.name, pool);
  }

  /** The named pool ("" for the default); NOT_FOUND listing the known pools. */
  get(name: string): Pool {
    const pool = this.pools.get(name || this.defaultPool);
    if (!pool) {
      throw new PyfleetError("not_found", `unknown pool "${name || this.defaultPool}"; known pools: ${[...this.pools.keys()].sort().join(", ") || "(none)"} (see ListPools)`);
    }
    return pool;
  }

  has(name: string): boolean {
    return this.pools.has(name);
  }

  list(): Pool[] {
    return [...this.pools.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** The pool holding a session and the session, for the caller's tenant; NOT_FOUND otherwise. */
  session(id: string, owner: string): { pool: Pool; session: SessionRecord } {
    for (const pool of this.pools.values()) {
      const session = pool.findSession(id, owner);
      if (session) return { pool, session };
    }
    throw new PyfleetError("not_found", `no session "${id}" (it may have expired; sessions live for their TTL after their last use)`);
  }

  /** Whether the tenant has a live session with this id on any pool here. */
  hasSession(id: string, owner: string): boolean {
    return [...this.pools.values()].some((pool) => pool.findSession(id, owner) !== undefined);
  }

  async close(graceMs: number): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close(graceMs)));
  }
}
