import Redis, { Cluster } from 'ioredis';

/**
 * The service's Redis: one server (the default) or a Redis Cluster (REDIS_CLUSTER_NODES). Both
 * answer the same single-key commands and scripts whose keys share a slot; what differs is said
 * here once: whether it is a cluster, which connections hold the keys (for SCAN), and how names
 * that must share a slot are written.
 */
export type RedisClient = Redis | Cluster;

export function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as Cluster).isCluster === true;
}

/** The connections that hold keys: the server itself, or every master of the cluster. */
export function keyHolders(redis: RedisClient): Redis[] {
  return isCluster(redis) ? redis.nodes('master') : [redis];
}

/**
 * A key that lives in the same hash slot as `key` on a cluster: `<prefix>{<tag>}`, the tag being
 * `key`'s own hash tag if it has one, else `key` itself (whose slot is the hash of the whole key).
 * On a single Redis it is `<prefix><key>`, today's name.
 */
export function sameSlotKey(cluster: boolean, prefix: string, key: string): string {
  if (!cluster) return `${prefix}${key}`;
  const open = key.indexOf('{');
  const close = open === -1 ? -1 : key.indexOf('}', open + 1);
  const tag = close > open + 1 ? key.slice(open + 1, close) : key;
  return `${prefix}{${tag}}:${key}`;
}

/**
 * Deletes keys that may live in different slots. One UNLINK per batch on a single Redis; one per
 * key on a cluster (a multi-key command there must not cross slots), all sent at once, so they go
 * out back to back on each master's connection. Returns how many existed.
 */
export async function unlinkAll(redis: RedisClient, keys: string[]): Promise<number> {
  if (keys.length === 0) return 0;
  if (isCluster(redis)) return (await Promise.all(keys.map((key) => redis.unlink(key)))).reduce((a, b) => a + b, 0);
  const batches: Array<Promise<number>> = [];
  for (let i = 0; i < keys.length; i += 1000) batches.push(redis.unlink(...keys.slice(i, i + 1000)));
  return (await Promise.all(batches)).reduce((a, b) => a + b, 0);
}

/** GETs of keys that may live in different slots: one MGET on a single Redis, one GET per key on a cluster. */
export async function getAll(redis: RedisClient, keys: string[]): Promise<Array<string | null>> {
  if (keys.length === 0) return [];
  if (isCluster(redis)) return Promise.all(keys.map((key) => redis.get(key)));
  return redis.mget(...keys);
}
