import type Redis from 'ioredis';
import { CACHE_FAMILIES, CACHE_PREFIX, CACHE_SCOPES, CacheFamily, CacheKeys, CacheScope, indexKey, keysOfRow, PLACEHOLDER, rowKey, scopeOfKey, scopePattern } from '../cache/cache-keys';
import { scanUnlink, ScanProgress } from '../cache/keyspace';
import {
  ClearScope,
  ID_PATTERN,
  IdScope,
  parseCount,
  parseBatch,
  parseCursor,
  parseId,
  parseIdScope,
  parsePhone,
  parseScope,
} from './cache-admin.inputs';

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
}

export interface CacheHealth extends RedisTarget {
  reachable: boolean;
  roundTripMs: number | null;
  version: string | null;
  error?: string;
}

export type ScopeCounts = Record<CacheScope | 'total', number>;

export interface KeyPage {
  scope: ClearScope;
  keys: string[];
  /** '0' once the whole keyspace has been walked, as with SCAN. */
  cursor: string;
  counts: ScopeCounts;
}

export interface BulkClearResult {
  scope: ClearScope;
  deleted: number;
  ms: number;
}

export interface TargetedClearResult {
  deleted: string[];
}

export interface CachedEntry {
  key: string;
  /** The raw string value (a row's JSON, an id, or the placeholder); null for a key of another type. */
  value: string | null;
  ttl: number;
}

export interface CachedLookup {
  lookup: string;
  entries: CachedEntry[];
}

/**
 * SCAN step of bulk work. Redis spends about 1 µs per key a step examines, so a step of 1000 keeps
 * every other client's wait around a millisecond; see docs/cache-admin.md, "Benchmark".
 */
export const BULK_SCAN_COUNT = 1000;
/** UNLINK batches in flight behind the next SCAN: 2 keeps Redis busy, yet a GET waits behind one SCAN and one UNLINK at most. */
const BULK_PIPELINE = 2;
/** A page request never walks more than this many SCAN steps, so a sparse keyspace cannot pin a request. */
const MAX_SCAN_STEPS_PER_PAGE = 200;

/** The families whose rows an operator addresses by id, and those with a phone index. */
const BY_ID: CacheFamily[] = CACHE_SCOPES.map((scope) => CACHE_FAMILIES[scope] as CacheFamily).filter((family) => family.byId);
const BY_PHONE: CacheFamily[] = BY_ID.filter((family) => family.indexes.some((index) => index.segment === 'phone'));

function familiesOf(scope: IdScope): CacheFamily[] {
  return scope === 'all' ? BY_ID : [CACHE_FAMILIES[scope]];
}

function parseRow(json: string | null): Record<string, unknown> | null {
  if (json === null || json === PLACEHOLDER) return null;
  try {
    const row = JSON.parse(json) as unknown;
    return row && typeof row === 'object' ? (row as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * The operator verbs of CONTRACT sections 6 and 7 against one Redis client, shared by the
 * /admin/cache endpoints and the command line. Every input is checked before the first command,
 * and every key it deletes is a `cache:` key (or that key's fill lease): sessions are out of reach.
 */
export class CacheAdmin {
  constructor(
    private readonly redis: Redis,
    private readonly target: RedisTarget,
  ) {}

  async health(timeoutMs = 2000): Promise<CacheHealth> {
    const base = { ...this.target, reachable: false, roundTripMs: null, version: null };
    try {
      const started = process.hrtime.bigint();
      await withTimeout(this.redis.ping(), timeoutMs);
      const roundTripMs = Number(process.hrtime.bigint() - started) / 1e6;
      const info = await withTimeout(this.redis.info('server'), timeoutMs);
      const version = /^redis_version:(\S+)/m.exec(info)?.[1] ?? null;
      return { ...base, reachable: true, roundTripMs: Math.round(roundTripMs * 1000) / 1000, version };
    } catch (err) {
      return { ...base, error: (err as Error).message };
    }
  }

  /** About `count` keys of a scope from `cursor` on; the counts walk the whole `cache:*` keyspace. */
  async listKeys(options: { scope?: string; cursor?: string; count?: string | number } = {}): Promise<KeyPage> {
    const scope = parseScope(options.scope ?? 'all');
    let cursor = parseCursor(options.cursor ?? '0');
    const count = parseCount(options.count ?? 100);
    const keys: string[] = [];
    for (let step = 0; step < MAX_SCAN_STEPS_PER_PAGE; step += 1) {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', scopePattern(scope), 'COUNT', count);
      keys.push(...batch);
      cursor = next;
      if (cursor === '0' || keys.length >= count) break;
    }
    return { scope, keys: keys.sort(), cursor, counts: await this.countByScope() };
  }

  /** One SCAN over `cache:*`; costs about a second per million keys of the database, never blocks Redis. */
  async countByScope(): Promise<ScopeCounts> {
    const counts = Object.fromEntries([...CACHE_SCOPES, 'total'].map((scope) => [scope, 0])) as ScopeCounts;
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', scopePattern('all'), 'COUNT', BULK_SCAN_COUNT);
      cursor = next;
      for (const key of batch) {
        const scope = scopeOfKey(key);
        if (scope in counts) counts[scope as CacheScope] += 1;
        counts.total += 1;
      }
    } while (cursor !== '0');
    return counts;
  }

  async clearScope(
    scopeName: string,
    onProgress?: (p: ScanProgress) => void,
    options: { batch?: number } = {},
  ): Promise<BulkClearResult> {
    const scope = parseScope(scopeName);
    const count = options.batch === undefined ? BULK_SCAN_COUNT : parseBatch(options.batch);
    const started = Date.now();
    const { deleted } = await scanUnlink(this.redis, scopePattern(scope), { count, pipeline: BULK_PIPELINE, onProgress });
    return { scope, deleted, ms: Date.now() - started };
  }

  /** The phone's index keys of AppUser and OaUser, the rows they point at, and those rows' other index keys. */
  async clearPhone(phoneValue: string): Promise<TargetedClearResult> {
    return { deleted: await this.unlinkReporting(await this.phoneKeys(parsePhone(phoneValue))) };
  }

  /** The row key of the id in the scope's families and the index keys its cached row names. */
  async clearId(idValue: string, scopeName = 'all'): Promise<TargetedClearResult> {
    return { deleted: await this.unlinkReporting(await this.idKeys(parseId(idValue), parseIdScope(scopeName))) };
  }

  /** Read-only: what clearPhone would delete, with each key's value and TTL. */
  async lookupPhone(phoneValue: string): Promise<CachedLookup> {
    const phone = parsePhone(phoneValue);
    return { lookup: phone, entries: await this.entries(await this.phoneKeys(phone)) };
  }

  /** Read-only: what clearId would delete, with each key's value and TTL. */
  async lookupId(idValue: string, scopeName = 'all'): Promise<CachedLookup> {
    const id = parseId(idValue);
    return { lookup: id, entries: await this.entries(await this.idKeys(id, parseIdScope(scopeName))) };
  }

  private async phoneKeys(phone: string): Promise<string[]> {
    const keys: string[] = [];
    for (const family of BY_PHONE) {
      const phoneKey = indexKey(family, 'phone', phone);
      keys.push(phoneKey);
      const id = await this.redis.get(phoneKey);
      if (id !== null && ID_PATTERN.test(id)) keys.push(...(await this.rowAndIndexKeys(family, id)));
    }
    return keys;
  }

  private async idKeys(id: string, scope: IdScope): Promise<string[]> {
    const keys: string[] = [];
    for (const family of familiesOf(scope)) keys.push(...(await this.rowAndIndexKeys(family, id)));
    return keys;
  }

  /** The candidates that exist, with their values; a key of another type shows as null. */
  private async entries(candidates: string[]): Promise<CachedEntry[]> {
    const keys = [...new Set(candidates)].sort();
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.type(key).get(key).ttl(key);
    const results = (await pipeline.exec()) ?? [];
    const entries: CachedEntry[] = [];
    keys.forEach((key, i) => {
      const [type, value, ttl] = results.slice(i * 3, i * 3 + 3).map(([, result]) => result);
      if (type !== 'none') entries.push({ key, value: type === 'string' ? withoutSecrets(value as string) : null, ttl: ttl as number });
    });
    return entries;
  }

  private async rowAndIndexKeys(family: CacheFamily, id: string): Promise<string[]> {
    const key = rowKey(family, id);
    const row = parseRow(await this.redis.get(key));
    return [key, ...(row ? keysOfRow(family, row) : [])];
  }

  /** Deletes the keys and their fill leases (so no reader writes an old row back) and names the keys that existed. */
  private async unlinkReporting(candidates: string[]): Promise<string[]> {
    const keys = [...new Set(candidates)];
    const outside = keys.filter((key) => !key.startsWith(CACHE_PREFIX));
    if (outside.length > 0) throw new Error(`refusing to delete keys outside cache: ${outside.join(', ')}`);
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.unlink(key).unlink(CacheKeys.lease(key));
    const results = (await pipeline.exec()) ?? [];
    const deleted: string[] = [];
    keys.forEach((key, i) => {
      const [err, removed] = results[i * 2];
      if (err) throw err;
      if (removed === 1) deleted.push(key);
    });
    return deleted.sort();
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Cached rows hold password and device-secret hashes; they never leave the server. */
const SECRET_FIELDS = ['passwordHash', 'secretHash'];

function withoutSecrets(value: string): string {
  if (!value.startsWith('{')) return value;
  try {
    const row = JSON.parse(value) as Record<string, unknown>;
    if (!SECRET_FIELDS.some((field) => field in row)) return value;
    return JSON.stringify({ ...row, ...Object.fromEntries(SECRET_FIELDS.filter((f) => f in row).map((f) => [f, '[redacted]'])) });
  } catch {
    return value;
  }
}
