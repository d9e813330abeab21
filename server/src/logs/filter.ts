import { LOG_LEVELS, type LogLevelName, type LogRecord } from "./record.js";

/** What a reader asks for; every field set must match. */
export interface LogFilter {
  pool?: string;
  workerId?: string;
  sessionId?: string;
  requestId?: string;
  /** This level and above. */
  minLevel?: LogLevelName;
}

/**
 * Who reads, which decides what they may see. A tenant sees the records of
 * its own calls (and so of its own sessions); an operator sees every record,
 * including those written outside any call (an adapter's import, its own
 * threads, native output), which may carry any tenant's data.
 */
export type LogViewer = { operator: true } | { operator: false; tenant: string };

/**
 * The viewer a request acts as: tenant "" is a server without API keys, one
 * trust domain, so it sees everything; API keys named in `operators` see
 * everything; any other key sees its own calls' records.
 */
export function logViewer(tenant: string, operators: readonly string[]): LogViewer {
  return tenant === "" || operators.includes(tenant) ? { operator: true } : { operator: false, tenant };
}

export function visibleTo(record: LogRecord, viewer: LogViewer): boolean {
  return viewer.operator || (record.tenant !== null && record.tenant === viewer.tenant);
}

const RANK: Record<LogLevelName, number> = Object.fromEntries(LOG_LEVELS.map((l, i) => [l, i])) as Record<LogLevelName, number>;

export function matches(record: LogRecord, filter: LogFilter, viewer: LogViewer): boolean {
  return visibleTo(record, viewer)
    && (!filter.pool || record.pool === filter.pool)
    && (!filter.workerId || record.workerId === filter.workerId)
    && (!filter.sessionId || record.sessionId === filter.sessionId)
    && (!filter.requestId || record.requestId === filter.requestId)
    && (!filter.minLevel || RANK[record.level] >= RANK[filter.minLevel]);
}
