import { once } from "node:events";
import { onTestFinished } from "vitest";
import { createLogger } from "../../src/log/index.js";
import { createPool, type Pool, type PoolConfigInput, type PoolEvent, type PoolEventKind } from "../../src/pool/index.js";

/** A pool of real Python workers running the sample adapter, closed when the test ends. */
export async function startPool(config: Partial<PoolConfigInput> = {}, { waitReady = true } = {}): Promise<Pool> {
  // One worker unless the test sizes the pool otherwise (size, or minSize/maxSize: autoscaling).
  const size = config.minSize === undefined && config.maxSize === undefined ? 1 : undefined;
  const pool = await createPool({ name: "test", size, ...config }, { logger: createLogger("silent") });
  onTestFinished(() => pool.close(2_000));
  if (waitReady) await pool.ready();
  return pool;
}

/** The next event of a kind (subscribe before causing it). */
export function nextEvent(pool: Pool, kind: PoolEventKind): Promise<PoolEvent> {
  return once(pool.events, kind).then(([event]) => event as PoolEvent);
}

export async function pidOf(pool: Pool, options: { sessionId?: string } = {}): Promise<number> {
  return (await pool.execute("pid", {}, { ...options, timeoutMs: 5_000 })) as number;
}
