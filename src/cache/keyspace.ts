import type Redis from 'ioredis';
import { isCluster, keyHolders, RedisClient } from '../redis/redis-client';

export interface ScanProgress {
  scanned: number;
  deleted: number;
  /** The SCAN cursor reached; '0' when done (see scanFraction). On a cluster, 'several' until every master is done. */
  cursor: string;
  /** How much of the keyspace (every master's) has been covered, from 0 to 1. */
  fraction: number;
}

/**
 * How much of the keyspace a SCAN cursor has covered, from 0 to 1. SCAN walks the hash table in
 * reverse-binary order, so the cursor's bits read backwards grow steadily from 0 to the table size.
 */
export function scanFraction(cursor: string): number {
  if (cursor === '0') return 1;
  let value = BigInt(cursor);
  let reversed = 0n;
  for (let bit = 0; bit < 64; bit += 1) {
    reversed = (reversed << 1n) | (value & 1n);
    value >>= 1n;
  }
  return Number(reversed) / 2 ** 64;
}

/** Characters that make a Redis MATCH pattern match more than the literal text. */
const GLOB = /[*?[\]\\]/;

export function assertLiteral(value: string, what: string): void {
  if (GLOB.test(value)) throw new Error(`${what} must not contain glob characters`);
}

/**
 * Deletes every key matching `pattern` without stalling Redis for other clients: SCAN walks the
 * keyspace in steps of `count`, and each step's keys are removed with one UNLINK (freed in the
 * background). Cheap enough to run against millions of keys on a live server. `pipeline` lets
 * that many UNLINKs be in flight behind the next SCAN instead of waiting for each (default 1).
 * On a Redis Cluster every master is walked at once, each on its own connection, and a step's
 * keys go as one UNLINK per key in one pipeline (a multi-key command there must not cross slots).
 */
export async function scanUnlink(
  redis: RedisClient,
  pattern: string,
  options: { count?: number; pipeline?: number; onProgress?: (p: ScanProgress) => void } = {},
): Promise<ScanProgress> {
  const holders = keyHolders(redis);
  const cluster = isCluster(redis);
  const parts = holders.map(() => ({ scanned: 0, deleted: 0, cursor: '0', fraction: 0 }));
  const total = (): ScanProgress => ({
    scanned: parts.reduce((sum, p) => sum + p.scanned, 0),
    deleted: parts.reduce((sum, p) => sum + p.deleted, 0),
    cursor: holders.length === 1 ? parts[0].cursor : parts.every((p) => p.fraction === 1) ? '0' : 'several',
    fraction: parts.reduce((sum, p) => sum + p.fraction, 0) / parts.length,
  });
  await Promise.all(
    holders.map((node, i) =>
      scanUnlinkOne(node, cluster, pattern, options, (p) => {
        parts[i] = { ...p, fraction: scanFraction(p.cursor) };
        options.onProgress?.(total());
      }),
    ),
  );
  return total();
}

async function scanUnlinkOne(
  redis: Redis,
  cluster: boolean,
  pattern: string,
  options: { count?: number; pipeline?: number },
  onStep: (p: { scanned: number; deleted: number; cursor: string }) => void,
): Promise<void> {
  const count = options.count ?? 1000;
  const depth = Math.max(1, options.pipeline ?? 1);
  const progress = { scanned: 0, deleted: 0, cursor: '0' };
  const inflight: Array<Promise<number>> = [];
  const scan = (from: string) => redis.scan(from, 'MATCH', pattern, 'COUNT', count);
  const unlink = (keys: string[]) => (cluster ? unlinkEach(redis, keys) : redis.unlink(...keys));
  let pending = scan('0');
  try {
    let cursor: string;
    do {
      const [next, keys] = await pending;
      cursor = next;
      // With a pipeline, the next SCAN is queued before this step's UNLINK is even built, so
      // Redis never waits for the client. A key SCAN returns twice is unlinked twice: the second
      // UNLINK counts 0, so `deleted` stays exact.
      if (depth > 1 && cursor !== '0') pending = scan(cursor);
      if (keys.length > 0) inflight.push(unlink(keys));
      while (inflight.length >= depth) progress.deleted += await inflight.shift()!;
      if (depth === 1 && cursor !== '0') pending = scan(cursor);
      progress.cursor = cursor;
      progress.scanned += keys.length;
      onStep(progress);
    } while (cursor !== '0');
    while (inflight.length > 0) progress.deleted += await inflight.shift()!;
    onStep(progress);
  } finally {
    // A failed step leaves no unobserved rejection behind.
    pending.catch(() => undefined);
    inflight.forEach((p) => p.catch(() => undefined));
  }
}

/** One UNLINK per key on one master's connection, in one pipeline. */
async function unlinkEach(node: Redis, keys: string[]): Promise<number> {
  const pipeline = node.pipeline();
  for (const key of keys) pipeline.unlink(key);
  const results = (await pipeline.exec()) ?? [];
  let deleted = 0;
  for (const [err, removed] of results) {
    if (err) throw err;
    deleted += removed as number;
  }
  return deleted;
}

/**
 * Every key matching `pattern`, a SCAN step at a time (`onKeys` per step), over the one server or
 * every master in turn. `onKeys` gets the fraction of the keyspace covered so far.
 */
export async function scanEach(
  redis: RedisClient,
  pattern: string,
  count: number,
  onKeys: (keys: string[], fraction: number) => Promise<void> | void,
): Promise<void> {
  const holders = keyHolders(redis);
  for (const [i, node] of holders.entries()) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      await onKeys(keys, (i + scanFraction(cursor)) / holders.length);
    } while (cursor !== '0');
  }
}
