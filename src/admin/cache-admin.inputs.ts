import { CACHE_FAMILIES, CACHE_SCOPES, CacheScope } from '../cache/cache-keys';
import { assertLiteral } from '../cache/keyspace';
import { PHONE_PATTERN, PHONE_RULE } from '../common/validation';

/**
 * What an operator may name. `all` is every `cache:*` family, devices included: every cache key is
 * derived from MySQL, so dropping one only costs a miss. Sessions never live under `cache:`.
 */
export type ClearScope = CacheScope | 'all';
export const CLEAR_SCOPES: readonly ClearScope[] = [...CACHE_SCOPES, 'all'];

/** Families whose rows are addressed by a numeric id; devices are keyed by identifier, so they have no id scope. */
export type IdScope = CacheScope | 'all';
export const ID_SCOPES: readonly IdScope[] = [...CACHE_SCOPES.filter((scope) => CACHE_FAMILIES[scope].byId), 'all'];

export const ID_PATTERN = /^\d{1,20}$/;
/** A SCAN cursor, or on a Redis Cluster `<master>-<cursor>` (see CacheAdmin.listKeys). */
export const CURSOR_PATTERN = /^(\d{1,3}-)?\d{1,20}$/;
export const MAX_PAGE = 1000;

/** Raised before any Redis command runs; the HTTP layer answers 400, the CLI exits 2. */
export class InvalidInputError extends Error {}

function check(ok: boolean, message: string): void {
  if (!ok) throw new InvalidInputError(message);
}

export function parsePhone(value: string): string {
  check(typeof value === 'string' && PHONE_PATTERN.test(value), `phone ${PHONE_RULE}`);
  assertLiteral(value, 'phone');
  return value;
}

export function parseId(value: string): string {
  check(typeof value === 'string' && ID_PATTERN.test(value), 'id must be 1-20 digits');
  return value;
}

export function parseScope(value: string): ClearScope {
  check((CLEAR_SCOPES as readonly string[]).includes(value), `scope must be one of ${CLEAR_SCOPES.join(', ')}`);
  return value as ClearScope;
}

export function parseIdScope(value: string): IdScope {
  check((ID_SCOPES as readonly string[]).includes(value), `scope must be one of ${ID_SCOPES.join(', ')}`);
  return value as IdScope;
}

/** A SCAN cursor is an unsigned 64-bit number: Redis refuses anything larger. */
export function isScanCursor(value: unknown): boolean {
  return typeof value === 'string' && CURSOR_PATTERN.test(value) && BigInt(value.slice(value.indexOf('-') + 1)) <= MAX_CURSOR;
}
const MAX_CURSOR = 2n ** 64n - 1n;

export function parseCursor(value: string): string {
  check(
    isScanCursor(value),
    'cursor must be a number from 0 to 18446744073709551615, or <master>-<number> on a Redis Cluster (the cursor of the previous page)',
  );
  return value;
}

export function parseCount(value: string | number): number {
  const n = typeof value === 'number' ? value : /^\d{1,6}$/.test(value) ? Number(value) : NaN;
  check(Number.isInteger(n) && n >= 1 && n <= MAX_PAGE, `count must be an integer from 1 to ${MAX_PAGE}`);
  return n;
}

export const MAX_BATCH = 10000;

export function parseBatch(value: string | number): number {
  const n = typeof value === 'number' ? value : /^\d{1,6}$/.test(value) ? Number(value) : NaN;
  check(Number.isInteger(n) && n >= 10 && n <= MAX_BATCH, `batch must be an integer from 10 to ${MAX_BATCH}`);
  return n;
}
