import { QueryFailedError } from 'typeorm';

/**
 * Failures of the outside world that are not bugs: a database query that failed and a Redis that
 * cannot be reached. They are told apart here so that neither is ever reported as "not found".
 */
export function isDatabaseError(err: unknown): boolean {
  if (err instanceof QueryFailedError) return true;
  const e = err as { sqlMessage?: unknown; sqlState?: unknown; code?: unknown; name?: unknown };
  if (typeof e?.sqlMessage === 'string' || typeof e?.sqlState === 'string') return true;
  const fatal = (err as { fatal?: unknown; errno?: unknown })?.fatal === true; // mysql2: the connection itself failed
  return fatal || e?.name === 'TypeORMError' || e?.code === 'PROTOCOL_CONNECTION_LOST' || e?.code === 'ER_CON_COUNT_ERROR';
}

// mysql2's codes for a server that cannot be reached or dropped the connection.
const MYSQL_UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
]);

/** A database error that says MySQL could not be reached, not that a query was wrong. */
export function isDatabaseUnreachableError(err: unknown): boolean {
  const e = err as { code?: unknown; fatal?: unknown; driverError?: { code?: unknown; fatal?: unknown } };
  const inner = e?.driverError ?? e;
  return inner?.fatal === true || MYSQL_UNREACHABLE.has(String(inner?.code));
}

// ioredis's own words for "not connected", and a Redis Cluster's for "no master answers for this
// slot" (CLUSTERDOWN, a failover in progress, the slot map not refreshed yet); MySQL's connection
// errors carry errno/fatal and are database errors.
const REDIS_DOWN =
  /enableOfflineQueue|Connection is closed|Reached the max retries|Command timed out|CLUSTERDOWN|TRYAGAIN|Too many Cluster redirections|Failed to refresh slots cache|None of startup nodes is available|Cluster isn't ready/;

export function isRedisUnavailableError(err: unknown): boolean {
  const e = err as { name?: unknown; message?: unknown };
  if (e?.name === 'MaxRetriesPerRequestError') return true;
  return typeof e?.message === 'string' && REDIS_DOWN.test(e.message) && !isDatabaseError(err);
}
