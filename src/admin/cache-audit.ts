import { getAll, isCluster, RedisClient } from '../redis/redis-client';
import { DataSource, In, ObjectLiteral } from 'typeorm';
import { CACHE_FAMILIES, CACHE_SCOPES, CacheFamily, leaseKey, parseKey, ParsedKey, PLACEHOLDER, scopePattern } from '../cache/cache-keys';
import { scanEach } from '../cache/keyspace';
import { BULK_SCAN_COUNT } from './cache-admin';
import { parseScope } from './cache-admin.inputs';

export const STALE_REASONS = ['row_differs', 'row_gone', 'index_wrong_id', 'placeholder_for_existing_row'] as const;
export type StaleReason = (typeof STALE_REASONS)[number];

export interface StaleEntry {
  key: string;
  reason: StaleReason;
  detail: string;
}

export interface AuditReport {
  scope: string;
  repair: boolean;
  /** Cache keys examined. */
  scanned: number;
  /** Keys of a layout the audit does not know (left alone). */
  unknown: number;
  /** The stale entries found, sorted by key: all of them, or the first `keep` found. */
  stale: StaleEntry[];
  /** How many stale entries were found in all (more than `stale` holds when `keep` cut it). */
  staleTotal: number;
  staleByReason: Record<StaleReason, number>;
  /** Stale keys deleted; a key refilled or changed since it was read is left alone. */
  repaired: number;
}

export interface AuditProgress {
  scanned: number;
  stale: number;
  /** How much of the keyspace (every master's) has been covered, from 0 to 1. */
  fraction: number;
}

// Delete only what was audited: a key refilled since then is fresh and stays.
const REPAIR_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('UNLINK', KEYS[1], KEYS[2])
return 1`;

interface CachedEntry extends ParsedKey {
  key: string;
  value: string;
}

const normalize = (value: unknown): unknown => (value === undefined ? null : value instanceof Date ? value.toISOString() : value);

/**
 * Compares every cached row and index key of a scope with the database and reports the entries
 * that contradict it. Keys come from SCAN in steps, rows from one `WHERE x IN (...)` per step, so
 * memory and load stay bounded on any keyspace. A change committed while the audit runs may show
 * up as stale once; deleting a cache key is always safe, it only costs a miss.
 */
export class CacheAudit {
  constructor(
    private readonly redis: RedisClient,
    private readonly db: DataSource,
  ) {}

  /**
   * `onStale` receives each step's stale entries as they are found (after their repair), so a
   * caller can store or stream them; `keep` bounds how many the report itself holds (all by
   * default), so an audit of millions of stale keys needs no more memory than one step.
   */
  async run(
    options: {
      scope?: string;
      repair?: boolean;
      onProgress?: (p: AuditProgress) => void;
      onStale?: (entries: StaleEntry[]) => Promise<void>;
      keep?: number;
    } = {},
  ): Promise<AuditReport> {
    const scope = parseScope(options.scope ?? 'all');
    const repair = options.repair ?? false;
    const keep = options.keep ?? Infinity;
    let found = 0;
    const report: AuditReport = {
      scope,
      repair,
      scanned: 0,
      unknown: 0,
      stale: [],
      staleTotal: 0,
      staleByReason: Object.fromEntries(STALE_REASONS.map((r) => [r, 0])) as Record<StaleReason, number>,
      repaired: 0,
    };
    await scanEach(this.redis, scopePattern(scope), BULK_SCAN_COUNT, async (keys, fraction) => {
      const stale = await this.auditBatch(keys, report);
      const entries = stale.map(({ entry }) => entry);
      report.stale.push(...entries.slice(0, Math.max(0, keep - report.stale.length)));
      entries.forEach((entry) => (report.staleByReason[entry.reason] += 1));
      found += entries.length;
      if (repair && stale.length > 0) report.repaired += await this.repair(stale.map(({ entry, value }) => [entry.key, value]));
      // Progress first: a caller that stops the audit there has counted no entry it did not scan.
      options.onProgress?.({ scanned: report.scanned, stale: found, fraction });
      if (options.onStale && entries.length > 0) await options.onStale(entries);
    });
    report.staleTotal = found;
    report.stale.sort((a, b) => a.key.localeCompare(b.key));
    return report;
  }

  private async auditBatch(keys: string[], report: AuditReport): Promise<Array<{ entry: StaleEntry; value: string }>> {
    if (keys.length === 0) return [];
    report.scanned += keys.length;
    const values = await getAll(this.redis, keys);
    const entries: CachedEntry[] = [];
    keys.forEach((key, i) => {
      const parsed = parseKey(key);
      const value = values[i];
      if (!parsed) report.unknown += 1;
      else if (value !== null) entries.push({ key, value, ...parsed });
    });
    const found: Array<{ entry: StaleEntry; value: string }> = [];
    for (const scope of CACHE_SCOPES) {
      const family: CacheFamily = CACHE_FAMILIES[scope];
      for (const { segment, property } of [family.row, ...family.indexes]) {
        const group = entries.filter((e) => e.family === family && e.segment === segment);
        if (group.length === 0) continue;
        const rows = await this.rowsBy(
          family,
          property,
          group.map((e) => e.lookup),
        );
        for (const cached of group) {
          const entry = cached.isRow ? this.checkRow(cached, rows.get(cached.lookup)) : this.checkIndex(cached, rows.get(cached.lookup));
          if (entry) found.push({ entry, value: cached.value });
        }
      }
    }
    return found;
  }

  private async rowsBy(family: CacheFamily, property: string, lookups: string[]): Promise<Map<string, ObjectLiteral>> {
    const unique = [...new Set(lookups)];
    const rows = await this.db.getRepository(family.table).find({ where: { [property]: In(unique) } });
    return new Map(rows.map((row) => [String(row[property]), row]));
  }

  private checkRow(cached: CachedEntry, row: ObjectLiteral | undefined): StaleEntry | null {
    const { key, value, family } = cached;
    if (value === PLACEHOLDER) {
      return row ? { key, reason: 'placeholder_for_existing_row', detail: `the database has this row` } : null;
    }
    if (!row) return { key, reason: 'row_gone', detail: 'no such row in the database' };
    let copy: Record<string, unknown>;
    try {
      copy = JSON.parse(value) as Record<string, unknown>;
    } catch {
      return { key, reason: 'row_differs', detail: 'the cached value is not JSON' };
    }
    const differing = family.audited.filter((c) => JSON.stringify(normalize(copy?.[c])) !== JSON.stringify(normalize(row[c])));
    return differing.length > 0 ? { key, reason: 'row_differs', detail: `differs in ${differing.join(', ')}` } : null;
  }

  private checkIndex(cached: CachedEntry, row: ObjectLiteral | undefined): StaleEntry | null {
    const { key, value } = cached;
    if (value === PLACEHOLDER) {
      return row ? { key, reason: 'placeholder_for_existing_row', detail: `the database has row ${row.id}` } : null;
    }
    if (!row) return { key, reason: 'row_gone', detail: `points at ${value}; no row has this ${cached.segment}` };
    return String(row.id) === value ? null : { key, reason: 'index_wrong_id', detail: `points at ${value}; the database has ${row.id}` };
  }

  /** Each key with its lease in one script (they share a slot on a cluster); sent together. */
  private async repair(stale: Array<[string, string]>): Promise<number> {
    const cluster = isCluster(this.redis);
    const removed = await Promise.all(stale.map(([key, value]) => this.redis.eval(REPAIR_SCRIPT, 2, key, leaseKey(cluster, key), value)));
    return removed.filter((r) => r === 1).length;
  }
}
