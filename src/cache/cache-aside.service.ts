import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'crypto';
import { isCluster, RedisClient } from '../redis/redis-client';
import { AppConfig } from '../config/app-config';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { compareAndDelete } from '../redis/redis-scripts';
import { CacheGate } from './cache-gate';
import { leaseKey, PLACEHOLDER } from './cache-keys';
import { CacheStats } from './cache-stats';

/** How long a miss may take between its lease and its fill before the lease lapses. */
const LEASE_MS = 5000;
/** How long a "does not exist" placeholder guards the database (go-zero: notFoundExpiry). */
export const PLACEHOLDER_TTL_SECONDS = 60;

// The fill is written only if the lease taken before the database read still stands: any
// invalidation in between deleted the lease, so the row read may be stale and is dropped.
const FILL_SCRIPT = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
if #KEYS > 2 then redis.call('SET', KEYS[3], ARGV[4], 'EX', ARGV[5]) end
redis.call('DEL', KEYS[2])
return 1`;

/** Keys whose foreign value was logged; forgotten wholesale when full, so memory stays bounded. */
const MAX_REPORTED_KEYS = 10_000;

export interface IndexLookup<T> {
  rowKey(id: string | number): string;
  idOf(row: T): string | number;
  loadByIndex(): Promise<T | null>;
  loadById(id: string): Promise<T | null>;
}

export interface RowCodec<T> {
  entity: string;
  encode(row: T): string;
  /** The row, or null when the value is not a valid row of the entity (see row-codec.ts). */
  decode(json: string): T | null;
  /** Whether an index key's value can be the id of a row. */
  isId(value: string): boolean;
}

/**
 * Cache-aside in the go-zero layout (CONTRACT section 4) with three additions: misses on one key
 * are coalesced into one query per process, placeholders guard against penetration, and every
 * fill is leased so that a slow reader can never write back a row that changed after it read it.
 */
@Injectable()
export class CacheAsideService {
  private readonly logger = new Logger('Cache');
  private readonly inflight = new Map<string, Inflight>();
  private readonly reported = new Set<string>();
  /** Off only in the test and benchmark that show what leases prevent. */
  leases = true;
  private readonly cluster: boolean;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly config: AppConfig,
    private readonly stats: CacheStats,
    private readonly gate: CacheGate,
  ) {
    this.redis.defineCommand('hiLeasedFill', { lua: FILL_SCRIPT });
    this.cluster = isCluster(redis);
  }

  /**
   * A row by its primary key, e.g. `cache:appUsers:id:{id}`. `known`: the key's value when the
   * caller read it already in another round trip (null: absent), instead of a GET.
   */
  async getRow<T>(key: string, codec: RowCodec<T>, load: () => Promise<T | null>, known?: string | null): Promise<T | null> {
    if (this.config.CACHE_BYPASS || !this.gate.isOpen) return load();
    const cached = known === undefined ? await this.redis.get(key) : known;
    if (cached === PLACEHOLDER) {
      this.stats.hit(codec.entity);
      return null;
    }
    if (cached !== null) {
      const row = codec.decode(cached);
      if (row !== null) {
        this.stats.hit(codec.entity);
        return row;
      }
      await this.discardForeign(key, cached, codec.entity);
    }
    this.stats.miss(codec.entity);
    return this.coalesce(key, async (lease) => {
      const row = await load();
      await this.fill(lease, [key, row === null ? PLACEHOLDER : codec.encode(row), this.ttl(row)]);
      return row;
    });
  }

  /**
   * A row by a unique index, e.g. `cache:appUsers:phone:{phone}` holding the id. A miss reads the
   * row once and fills both the index key and the row key under the index key's lease: every
   * change to the row invalidates all its index keys, so that lease covers the row key as well.
   * On a Redis Cluster the row key lives in another slot than that lease, so the index key is
   * filled under its lease, and the row key by a read of its own (a lease on the row key, the row
   * read again by id): one more query on an index miss, none on a hit.
   */
  async getByIndex<T>(indexKey: string, codec: RowCodec<T>, index: IndexLookup<T>): Promise<T | null> {
    const { rowKey, idOf, loadByIndex, loadById } = index;
    if (this.config.CACHE_BYPASS || !this.gate.isOpen) return loadByIndex();
    const cachedId = await this.redis.get(indexKey);
    if (cachedId === PLACEHOLDER) {
      this.stats.hit(codec.entity);
      return null;
    }
    if (cachedId !== null && codec.isId(cachedId)) {
      return this.getRow(rowKey(cachedId), codec, () => loadById(cachedId));
    }
    if (cachedId !== null) await this.discardForeign(indexKey, cachedId, codec.entity);
    this.stats.miss(codec.entity);
    return this.coalesce(indexKey, async (lease) => {
      const row = await loadByIndex();
      if (row === null) {
        await this.fill(lease, [indexKey, PLACEHOLDER, PLACEHOLDER_TTL_SECONDS]);
      } else {
        const ttl = this.ttl(row);
        if (this.cluster) {
          const id = String(idOf(row));
          if ((await this.fill(lease, [indexKey, id, ttl])) && (await this.redis.get(rowKey(id))) === null)
            await this.getRow(rowKey(id), codec, () => loadById(id), null);
        } else {
          await this.fill(lease, [indexKey, String(idOf(row)), ttl], [rowKey(idOf(row)), codec.encode(row), ttl]);
        }
      }
      return row;
    });
  }

  /**
   * A value this service would never have written (another service's layout, garbage, a row from
   * before a column existed): counted, logged once per key, and deleted if it is still there, so
   * the miss that follows refills the key from MySQL under the usual lease.
   */
  private async discardForeign(key: string, value: string, entity: string): Promise<void> {
    this.stats.foreign(entity);
    if (!this.reported.has(key)) {
      if (this.reported.size >= MAX_REPORTED_KEYS) this.reported.clear();
      this.reported.add(key);
      this.logger.warn(`${key} held a value that is not a ${entity} row (${JSON.stringify(value.slice(0, 80))}): treated as a miss and refilled`);
    }
    await compareAndDelete(this.redis, key, value);
  }

  /**
   * One load per key and process. A miss joins a running load only while that load's lease still
   * stands: once an invalidation removed it, the load may have read the row from before the change,
   * so a miss that arrives after the change reads MySQL itself.
   */
  private async coalesce<T>(key: string, work: (lease: Lease) => Promise<T>): Promise<T> {
    const running = this.inflight.get(key);
    if (running && (await this.stillLeased(running))) return running.promise as Promise<T>;
    const entry: Inflight = { lease: undefined, promise: Promise.resolve() };
    entry.promise = (async () => {
      entry.lease = await this.takeLease(key);
      return work(entry.lease);
    })().finally(() => {
      if (this.inflight.get(key) === entry) this.inflight.delete(key);
    });
    this.inflight.set(key, entry);
    return entry.promise as Promise<T>;
  }

  private async stillLeased(entry: Inflight): Promise<boolean> {
    if (entry.lease === undefined || entry.lease.token === null) return true; // not reading yet, or leases off
    if (entry.lease.token === '') return false; // another process's lease: nothing to check against
    return (await this.redis.get(leaseKey(this.cluster, entry.lease.key))) === entry.lease.token;
  }

  private async takeLease(key: string): Promise<Lease> {
    if (!this.leases) return { key, token: null };
    const token = randomBytes(12).toString('base64url');
    const taken = await this.redis.set(leaseKey(this.cluster, key), token, 'PX', LEASE_MS, 'NX');
    // Someone else is filling this key: read the database but leave the fill to them.
    return { key, token: taken === 'OK' ? token : '' };
  }

  /** Writes the keys if the lease still stands; whether it wrote them. */
  private async fill(lease: Lease, first: [string, string, number], second?: [string, string, number]): Promise<boolean> {
    if (lease.token === '') return false;
    if (lease.token === null) {
      await Promise.all([first, ...(second ? [second] : [])].map(([key, value, ttl]) => this.redis.set(key, value, 'EX', ttl)));
      return true;
    }
    const keys = second ? [first[0], leaseKey(this.cluster, lease.key), second[0]] : [first[0], leaseKey(this.cluster, lease.key)];
    const args = second ? [lease.token, first[1], first[2], second[1], second[2]] : [lease.token, first[1], first[2]];
    return (await (this.redis as unknown as LeasedFill).hiLeasedFill(keys.length, ...keys, ...args)) === 1;
  }

  /** CACHE_TTL_SECONDS with a spread of up to 5% so that keys filled together do not expire together. */
  private ttl(row: unknown): number {
    if (row === null) return PLACEHOLDER_TTL_SECONDS;
    const base = this.config.CACHE_TTL_SECONDS;
    return base + Math.floor(Math.random() * Math.max(1, Math.floor(base * 0.05)));
  }
}

/** token: ours; '' when another reader holds the lease; null when leases are off. */
interface Lease {
  key: string;
  token: string | null;
}

interface Inflight {
  lease: Lease | undefined;
  promise: Promise<unknown>;
}

interface LeasedFill {
  hiLeasedFill(numKeys: number, ...args: Array<string | number>): Promise<number>;
}
