import type Redis from 'ioredis';
import { DataSource, EntityTarget, In, ObjectLiteral } from 'typeorm';
import { AppUser } from '../app-user/app-user.entity';
import { CACHE_PREFIX, CacheKeys, PLACEHOLDER } from '../cache/cache-keys';
import { Device } from '../device/device.entity';
import { OaUser } from '../oa-user/oa-user.entity';
import { BULK_SCAN_COUNT, scopePattern } from './cache-admin';
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
  stale: StaleEntry[];
  staleByReason: Record<StaleReason, number>;
  /** Stale keys deleted; a key refilled or changed since it was read is left alone. */
  repaired: number;
}

export interface AuditProgress {
  scanned: number;
  stale: number;
  cursor: string;
}

interface AuditedFamily {
  entity: EntityTarget<ObjectLiteral>;
  /** Key segment and entity property of the row key (`cache:appUsers:id:{id}`). */
  rowBy: { segment: string; property: string; pattern: RegExp };
  /** Index key segment -> entity property; index keys hold the row's id. */
  indexes: Record<string, string>;
  /** The columns whose cached copy must equal the database (timestamps are not compared). */
  columns: string[];
}

const FAMILIES: Record<string, AuditedFamily> = {
  appUsers: {
    entity: AppUser,
    rowBy: { segment: 'id', property: 'id', pattern: /^\d{1,20}$/ },
    indexes: { phone: 'phone', email: 'email' },
    columns: ['id', 'phone', 'email', 'nickname', 'passwordHash', 'status', 'referCode', 'referrerId'],
  },
  oaUsers: {
    entity: OaUser,
    rowBy: { segment: 'id', property: 'id', pattern: /^\d{1,20}$/ },
    indexes: { phone: 'phone' },
    columns: ['id', 'phone', 'name', 'passwordHash', 'role', 'status'],
  },
  devices: {
    entity: Device,
    rowBy: { segment: 'identifier', property: 'identifier', pattern: /^.{1,128}$/ },
    indexes: {},
    columns: ['id', 'identifier', 'userId', 'name', 'platform'],
  },
};

// Delete only what was audited: a key refilled since then is fresh and stays.
const REPAIR_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('UNLINK', KEYS[1], KEYS[2])
return 1`;

interface CachedEntry {
  key: string;
  value: string;
  family: AuditedFamily;
  segment: string;
  lookup: string;
}

function parseKey(key: string): { family: AuditedFamily; segment: string; lookup: string } | null {
  if (!key.startsWith(CACHE_PREFIX)) return null;
  const [familyName, segment] = key.slice(CACHE_PREFIX.length).split(':', 2);
  const family = FAMILIES[familyName];
  if (!family || segment === undefined) return null;
  const lookup = key.slice(CACHE_PREFIX.length + familyName.length + segment.length + 2);
  if (segment === family.rowBy.segment) return family.rowBy.pattern.test(lookup) ? { family, segment, lookup } : null;
  return segment in family.indexes && lookup.length > 0 ? { family, segment, lookup } : null;
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
    private readonly redis: Redis,
    private readonly db: DataSource,
  ) {}

  async run(options: { scope?: string; repair?: boolean; onProgress?: (p: AuditProgress) => void } = {}): Promise<AuditReport> {
    const scope = parseScope(options.scope ?? 'all');
    const repair = options.repair ?? false;
    const report: AuditReport = {
      scope,
      repair,
      scanned: 0,
      unknown: 0,
      stale: [],
      staleByReason: Object.fromEntries(STALE_REASONS.map((r) => [r, 0])) as Record<StaleReason, number>,
      repaired: 0,
    };
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', scopePattern(scope), 'COUNT', BULK_SCAN_COUNT);
      cursor = next;
      const stale = await this.auditBatch(keys, report);
      report.stale.push(...stale.map(({ entry }) => entry));
      stale.forEach(({ entry }) => (report.staleByReason[entry.reason] += 1));
      if (repair && stale.length > 0) report.repaired += await this.repair(stale.map(({ entry, value }) => [entry.key, value]));
      options.onProgress?.({ scanned: report.scanned, stale: report.stale.length, cursor });
    } while (cursor !== '0');
    report.stale.sort((a, b) => a.key.localeCompare(b.key));
    return report;
  }

  private async auditBatch(keys: string[], report: AuditReport): Promise<Array<{ entry: StaleEntry; value: string }>> {
    if (keys.length === 0) return [];
    report.scanned += keys.length;
    const values = await this.redis.mget(...keys);
    const entries: CachedEntry[] = [];
    keys.forEach((key, i) => {
      const parsed = parseKey(key);
      const value = values[i];
      if (!parsed) report.unknown += 1;
      else if (value !== null) entries.push({ key, value, ...parsed });
    });
    const found: Array<{ entry: StaleEntry; value: string }> = [];
    for (const family of Object.values(FAMILIES)) {
      const segments = [family.rowBy.segment, ...Object.keys(family.indexes)];
      for (const segment of segments) {
        const group = entries.filter((e) => e.family === family && e.segment === segment);
        if (group.length === 0) continue;
        const isRow = segment === family.rowBy.segment;
        const property = isRow ? family.rowBy.property : family.indexes[segment];
        const rows = await this.rowsBy(family, property, group.map((e) => e.lookup));
        for (const cached of group) {
          const entry = isRow ? this.checkRow(cached, rows.get(cached.lookup)) : this.checkIndex(cached, rows.get(cached.lookup));
          if (entry) found.push({ entry, value: cached.value });
        }
      }
    }
    return found;
  }

  private async rowsBy(family: AuditedFamily, property: string, lookups: string[]): Promise<Map<string, ObjectLiteral>> {
    const unique = [...new Set(lookups)];
    const rows = await this.db.getRepository(family.entity).find({ where: { [property]: In(unique) } });
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
    const differing = family.columns.filter((c) => JSON.stringify(normalize(copy?.[c])) !== JSON.stringify(normalize(row[c])));
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

  private async repair(stale: Array<[string, string]>): Promise<number> {
    const pipeline = this.redis.pipeline();
    for (const [key, value] of stale) pipeline.eval(REPAIR_SCRIPT, 2, key, CacheKeys.lease(key), value);
    const results = (await pipeline.exec()) ?? [];
    return results.reduce((sum, [err, removed]) => {
      if (err) throw err;
      return sum + (removed === 1 ? 1 : 0);
    }, 0);
  }
}
