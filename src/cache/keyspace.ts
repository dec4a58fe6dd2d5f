import type Redis from 'ioredis';

export interface ScanProgress {
  scanned: number;
  deleted: number;
  /** The SCAN cursor reached; '0' when done (see scanFraction). */
  cursor: string;
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
 */
export async function scanUnlink(
  redis: Redis,
  pattern: string,
  options: { count?: number; pipeline?: number; onProgress?: (p: ScanProgress) => void } = {},
): Promise<ScanProgress> {
  const count = options.count ?? 1000;
  const depth = Math.max(1, options.pipeline ?? 1);
  const progress: ScanProgress = { scanned: 0, deleted: 0, cursor: '0' };
  const inflight: Array<Promise<number>> = [];
  const scan = (from: string) => redis.scan(from, 'MATCH', pattern, 'COUNT', count);
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
      if (keys.length > 0) inflight.push(redis.unlink(...keys));
      while (inflight.length >= depth) progress.deleted += await inflight.shift()!;
      if (depth === 1 && cursor !== '0') pending = scan(cursor);
      progress.cursor = cursor;
      progress.scanned += keys.length;
      options.onProgress?.(progress);
    } while (cursor !== '0');
    while (inflight.length > 0) progress.deleted += await inflight.shift()!;
  } finally {
    // A failed step leaves no unobserved rejection behind.
    pending.catch(() => undefined);
    inflight.forEach((p) => p.catch(() => undefined));
  }
  return progress;
}
