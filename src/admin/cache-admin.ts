import { isCluster, keyHolders, RedisClient } from '../redis/redis-client';
import {
  CACHE_FAMILIES,
  CACHE_PREFIX,
  CACHE_SCOPES,
  CacheFamily,
  CacheScope,
  indexKey,
  keysOfRow,
  leaseKey,
  PLACEHOLDER,
  rowKey,
  scopeOfKey,
  scopePattern,
} from '../cache/cache-keys';
import { scanEach, scanUnlink, ScanProgress } from '../cache/keyspace';
import { clusterState, ClusterState } from '../redis/cluster-state';
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
  InvalidInputError,
} from './cache-admin.inputs';

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  /** REDIS_CLUSTER_NODES when the service runs on a Redis Cluster (host and port: its first node). */
  clusterNodes?: string;
}

export interface CacheHealth extends RedisTarget {
  reachable: boolean;
  roundTripMs: number | null;
  version: string | null;
  /** On a Redis Cluster: its state as CLUSTER INFO and the masters report it. */
  cluster?: ClusterState;
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
/** Keys a count remembers to skip SCAN's repeats. */
const COUNT_DEDUPED = 100_000;
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
    private readonly redis: RedisClient,
    private readonly target: RedisTarget,
  ) {}

  async health(timeoutMs = 2000): Promise<CacheHealth> {
    const base = { ...this.target, reachable: false, roundTripMs: null, version: null };
    try {
      const started = process.hrtime.bigint();
      await withTimeout(this.redis.ping(), timeoutMs);
      const roundTripMs = Number(process.hrtime.bigint() - started) / 1e6;
      const info = await withTimeout(keyHolders(this.redis)[0].info('server'), timeoutMs);
      const version = /^redis_version:(\S+)/m.exec(info)?.[1] ?? null;
      const cluster = isCluster(this.redis) ? await withTimeout(clusterState(this.redis), timeoutMs) : undefined;
      const reachable = cluster ? cluster.state === 'ok' : true;
      return { ...base, reachable, roundTripMs: Math.round(roundTripMs * 1000) / 1000, version, ...(cluster ? { cluster } : {}) };
    } catch (err) {
      return { ...base, error: (err as Error).message };
    }
  }

  /**
   * About `count` keys of a scope from `cursor` on; the counts walk the whole `cache:*` keyspace.
   * On a cluster the masters are walked one after the other, in the order of their addresses, and
   * the cursor says which: `<master>-<cursor>` (`0` to start and at the end).
   */
  async listKeys(options: { scope?: string; cursor?: string; count?: string | number } = {}): Promise<KeyPage> {
    const scope = parseScope(options.scope ?? 'all');
    const holders = this.orderedHolders();
    let [holder, cursor] = this.splitCursor(parseCursor(options.cursor ?? '0'), holders.length);
    const count = parseCount(options.count ?? 100);
    const keys: string[] = [];
    for (let step = 0; step < MAX_SCAN_STEPS_PER_PAGE && holder < holders.length; step += 1) {
      const [next, batch] = await holders[holder].scan(cursor, 'MATCH', scopePattern(scope), 'COUNT', count);
      keys.push(...batch);
      cursor = next;
      if (cursor === '0') holder += 1;
      if (keys.length >= count) break;
    }
    const done = holder >= holders.length;
    const nextCursor = done ? '0' : holders.length === 1 ? cursor : `${holder}-${cursor}`;
    return { scope, keys: keys.sort(), cursor: nextCursor, counts: await this.countByScope() };
  }

  /**
   * One SCAN over `cache:*` (every master's); costs about a second per million keys, never blocks
   * Redis. Callers that ask while a count runs share it: many consoles open at once cost one walk.
   */
  countByScope(): Promise<ScopeCounts> {
    this.counting ??= this.walkCounts().finally(() => (this.counting = undefined));
    return this.counting;
  }

  private counting?: Promise<ScopeCounts>;

  /**
   * SCAN may return a key twice while Redis resizes its table; the keys seen are remembered (up to
   * COUNT_DEDUPED of them, a few megabytes) so that counts of a keyspace that size are exact, and
   * beyond it such a key may count twice.
   */
  private async walkCounts(): Promise<ScopeCounts> {
    const counts = Object.fromEntries([...CACHE_SCOPES, 'total'].map((scope) => [scope, 0])) as ScopeCounts;
    const seen = new Set<string>();
    await scanEach(this.redis, scopePattern('all'), BULK_SCAN_COUNT, (batch) => {
      for (const key of batch) {
        if (seen.has(key)) continue;
        if (seen.size < COUNT_DEDUPED) seen.add(key);
        const scope = scopeOfKey(key);
        if (scope in counts) counts[scope as CacheScope] += 1;
        counts.total += 1;
      }
    });
    return counts;
  }

  /** The servers that hold keys, in a stable order (a cluster's masters by address). */
  private orderedHolders() {
    const holders = keyHolders(this.redis);
    const address = (node: (typeof holders)[number]) => `${node.options.host}:${String(node.options.port).padStart(5, '0')}`;
    return [...holders].sort((a, b) => address(a).localeCompare(address(b)));
  }

  /** A page cursor as (master, SCAN cursor): a number on one server, `<master>-<cursor>` on a cluster. */
  private splitCursor(cursor: string, holders: number): [number, string] {
    if (cursor === '0') return [0, '0'];
    const dash = cursor.indexOf('-');
    if (holders === 1) {
      if (dash !== -1) throw new InvalidInputError('cursor must be a number on a single Redis (the cursor of the previous page)');
      return [0, cursor];
    }
    const holder = dash === -1 ? NaN : Number(cursor.slice(0, dash));
    if (!Number.isInteger(holder) || holder >= holders)
      throw new InvalidInputError(`cursor must be <master>-<cursor> with a master from 0 to ${holders - 1} on this cluster (the cursor of the previous page)`);
    return [holder, cursor.slice(dash + 1)];
  }

  async clearScope(scopeName: string, onProgress?: (p: ScanProgress) => void, options: { batch?: number } = {}): Promise<BulkClearResult> {
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
    // Sent together (on a cluster, to each key's master): one round trip, not three per key.
    const results = await Promise.all(
      keys.map(async (key) => {
        const [type, ttl] = await Promise.all([this.redis.type(key), this.redis.ttl(key)]);
        return { key, type, ttl, value: type === 'string' ? await this.redis.get(key) : null };
      }),
    );
    return results
      .filter((r) => r.type !== 'none')
      .map(({ key, type, ttl, value }) => ({ key, value: type === 'string' && value !== null ? withoutSecrets(value) : null, ttl }));
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
    const cluster = isCluster(this.redis);
    const removed = await Promise.all(keys.map(async (key) => (await Promise.all([this.redis.unlink(key), this.redis.unlink(leaseKey(cluster, key))]))[0]));
    return keys.filter((_, i) => removed[i] === 1).sort();
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
/** Field names that hold or derive from a secret, in this service's rows and in foreign ones (go-zero's `Password`). */
const SECRET_FIELD = /pass|secret|hash|token|salt/i;

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([name, inner]) => [name, SECRET_FIELD.test(name) ? '[redacted]' : redact(inner)]));
}

/**
 * A cached value as staff may see it: ids and the placeholder as they are, JSON with every field
 * that names a secret redacted at any depth, and anything else (a value another service wrote in
 * a form this one cannot read) not shown, since a secret could hide in it.
 */
export function withoutSecrets(value: string): string {
  const text = value.trim();
  if (/^\d+$/.test(text) || text === PLACEHOLDER) return value;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed !== null && typeof parsed === 'object') return JSON.stringify(redact(parsed));
  } catch {
    // not JSON: below
  }
  return `(a value this service does not write, ${Buffer.byteLength(value)} bytes, not shown)`;
}
