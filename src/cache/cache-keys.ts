import { sameSlotKey } from '../redis/redis-client';

/**
 * The go-zero key layout of CONTRACT section 4, declared once: one family per cached table. Keys,
 * invalidation (by the subscriber and by change capture), the admin scopes, the audit and the
 * metrics are all derived from CACHE_FAMILIES. Rows are spoken of by their entities' properties.
 */
export const CACHE_PREFIX = 'cache:';
export const PLACEHOLDER = '*';

export interface CacheFamily {
  /** The key segment after `cache:`, also the admin scope: `cache:appUsers:...`. */
  scope: string;
  /** The MySQL table whose rows it caches. */
  table: string;
  /** `cache:<scope>:<segment>:<value>` holds the row as JSON; `pattern` is what a value may be. */
  row: { segment: string; property: string; pattern: RegExp };
  /** `cache:<scope>:<segment>:<value>` holds the row's id (go-zero: index key -> primary key). */
  indexes: Array<{ segment: string; property: string }>;
  /** The properties the audit compares with MySQL (timestamps are not compared). */
  audited: string[];
  /** Operators address its rows by numeric id (`DELETE /admin/cache/id/:id`). */
  byId: boolean;
}

const ID = /^\d{1,20}$/;

export const CACHE_FAMILIES = {
  appUsers: {
    scope: 'appUsers',
    table: 'app_users',
    row: { segment: 'id', property: 'id', pattern: ID },
    indexes: [
      { segment: 'phone', property: 'phone' },
      { segment: 'email', property: 'email' },
    ],
    audited: ['id', 'phone', 'email', 'nickname', 'passwordHash', 'status', 'referCode', 'referrerId'],
    byId: true,
  },
  oaUsers: {
    scope: 'oaUsers',
    table: 'oa_users',
    row: { segment: 'id', property: 'id', pattern: ID },
    indexes: [{ segment: 'phone', property: 'phone' }],
    audited: ['id', 'phone', 'name', 'passwordHash', 'role', 'status'],
    byId: true,
  },
  devices: {
    scope: 'devices',
    table: 'devices',
    row: { segment: 'identifier', property: 'identifier', pattern: /^.{1,128}$/ },
    indexes: [],
    audited: ['id', 'identifier', 'userId', 'name', 'platform', 'secretHash', 'secretFor'],
    byId: false,
  },
} as const satisfies Record<string, CacheFamily>;

export type CacheScope = keyof typeof CACHE_FAMILIES;
export const CACHE_SCOPES = Object.keys(CACHE_FAMILIES) as CacheScope[];
const FAMILY_LIST: readonly CacheFamily[] = Object.values(CACHE_FAMILIES);

export function rowKey(family: CacheFamily, value: string | number): string {
  return `${CACHE_PREFIX}${family.scope}:${family.row.segment}:${value}`;
}

export function indexKey(family: CacheFamily, segment: string, value: string): string {
  return `${CACHE_PREFIX}${family.scope}:${segment}:${value}`;
}

/** Every key a version of a row occupies (old or new): its row key and its index keys. */
export function keysOfRow(family: CacheFamily, row: Record<string, unknown>): string[] {
  const keys: string[] = [];
  const id = row[family.row.property];
  if (id !== null && id !== undefined && id !== '') keys.push(rowKey(family, id as string | number));
  for (const { segment, property } of family.indexes) {
    const value = row[property];
    if (typeof value === 'string' && value !== '') keys.push(indexKey(family, segment, value));
  }
  return keys;
}

export function familyOfTable(table: string): CacheFamily | undefined {
  return FAMILY_LIST.find((family) => family.table === table);
}

export const CACHED_TABLES = FAMILY_LIST.map((family) => family.table);

/** The SCAN pattern of one family's keys, or of every cache key. */
export function scopePattern(scope: CacheScope | 'all'): string {
  return scope === 'all' ? `${CACHE_PREFIX}*` : `${CACHE_PREFIX}${scope}:*`;
}

/** A cache key read back: its family, what kind of key and what it is the key of. */
export interface ParsedKey {
  family: CacheFamily;
  segment: string;
  /** The id, identifier, phone or email the key names. */
  lookup: string;
  isRow: boolean;
}

export function parseKey(key: string): ParsedKey | null {
  if (!key.startsWith(CACHE_PREFIX)) return null;
  const [scope, segment] = key.slice(CACHE_PREFIX.length).split(':', 2);
  const family = FAMILY_LIST.find((f) => f.scope === scope);
  if (!family || segment === undefined) return null;
  const lookup = key.slice(CACHE_PREFIX.length + scope.length + segment.length + 2);
  if (segment === family.row.segment) return family.row.pattern.test(lookup) ? { family, segment, lookup, isRow: true } : null;
  return family.indexes.some((i) => i.segment === segment) && lookup.length > 0 ? { family, segment, lookup, isRow: false } : null;
}

/** The family (scope) a key belongs to, for counting: `cache:appUsers:id:1` -> `appUsers`; else `other`. */
export function scopeOfKey(key: string): string {
  if (!key.startsWith(CACHE_PREFIX)) return 'other';
  const scope = key.slice(CACHE_PREFIX.length).split(':', 1)[0];
  return FAMILY_LIST.some((f) => f.scope === scope) ? scope : 'other';
}

/** The keys the repositories read, named. */
export const CacheKeys = {
  appUserId: (id: number | string) => rowKey(CACHE_FAMILIES.appUsers, id),
  appUserPhone: (phone: string) => indexKey(CACHE_FAMILIES.appUsers, 'phone', phone),
  appUserEmail: (email: string) => indexKey(CACHE_FAMILIES.appUsers, 'email', email),
  oaUserId: (id: number | string) => rowKey(CACHE_FAMILIES.oaUsers, id),
  oaUserPhone: (phone: string) => indexKey(CACHE_FAMILIES.oaUsers, 'phone', phone),
  deviceIdentifier: (identifier: string) => rowKey(CACHE_FAMILIES.devices, identifier),
};

/**
 * The fill lease of a cache key (see cache-aside.service.ts), outside every cache scope on
 * purpose: `lease:<key>` on a single Redis; on a cluster `lease:{<key>}:<key>`, in the key's own
 * slot, so that a fill checks its lease and writes its key in one script.
 */
export function leaseKey(cluster: boolean, key: string): string {
  return sameSlotKey(cluster, 'lease:', key);
}

/** The SCAN pattern of the leases of the keys `pattern` matches. */
export function leasePattern(cluster: boolean, pattern: string): string {
  return cluster ? `lease:{*}:${pattern}` : `lease:${pattern}`;
}
