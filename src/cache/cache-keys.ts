/**
 * The go-zero key layout of CONTRACT section 4, and the only place that spells it.
 * Given any version of a row (old or new), the functions return every key that version occupies.
 */
export const CACHE_PREFIX = 'cache:';
export const PLACEHOLDER = '*';

export const CacheScope = { appUsers: 'appUsers', oaUsers: 'oaUsers', devices: 'devices' } as const;
export type CacheScope = (typeof CacheScope)[keyof typeof CacheScope];

export const CacheKeys = {
  appUserId: (id: number | string) => `cache:appUsers:id:${id}`,
  appUserPhone: (phone: string) => `cache:appUsers:phone:${phone}`,
  appUserEmail: (email: string) => `cache:appUsers:email:${email}`,
  oaUserId: (id: number | string) => `cache:oaUsers:id:${id}`,
  oaUserPhone: (phone: string) => `cache:oaUsers:phone:${phone}`,
  deviceIdentifier: (identifier: string) => `cache:devices:identifier:${identifier}`,
  scopePattern: (scope: CacheScope) => `cache:${scope}:*`,
  /** The fill lease of a key (see cache-aside.service.ts). Outside every cache scope on purpose. */
  lease: (key: string) => `lease:${key}`,
};

type Partial<T> = { [K in keyof T]?: T[K] | null };

export function appUserKeys(row: Partial<{ id: number | string; phone: string; email: string }>): string[] {
  const keys: string[] = [];
  if (row.id != null) keys.push(CacheKeys.appUserId(row.id));
  if (row.phone) keys.push(CacheKeys.appUserPhone(row.phone));
  if (row.email) keys.push(CacheKeys.appUserEmail(row.email));
  return keys;
}

export function oaUserKeys(row: Partial<{ id: number | string; phone: string }>): string[] {
  const keys: string[] = [];
  if (row.id != null) keys.push(CacheKeys.oaUserId(row.id));
  if (row.phone) keys.push(CacheKeys.oaUserPhone(row.phone));
  return keys;
}

export function deviceKeys(row: Partial<{ identifier: string }>): string[] {
  return row.identifier ? [CacheKeys.deviceIdentifier(row.identifier)] : [];
}

/** Keys of a row of a cached table, by table name: shared by the subscriber and change capture. */
export const KEYS_BY_TABLE: Record<string, (row: Record<string, unknown>) => string[]> = {
  app_users: (row) => appUserKeys(row as never),
  oa_users: (row) => oaUserKeys(row as never),
  devices: (row) => deviceKeys(row as never),
};

export const SCOPE_BY_TABLE: Record<string, CacheScope> = {
  app_users: CacheScope.appUsers,
  oa_users: CacheScope.oaUsers,
  devices: CacheScope.devices,
};
