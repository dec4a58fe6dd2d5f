import { randomBytes } from 'crypto';
import type { RedisClient } from './redis-client';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { compareAndDelete } from './redis-scripts';

export interface LockOptions {
  /** How long the lock holds if its holder dies without releasing it. */
  ttlMs: number;
  /** How long to wait for it before answering 503. */
  waitMs: number;
}

// KEYS: the lock. ARGV: the holder's token, ttl ms. Extends the lock if it is still this holder's.
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

/**
 * Runs `work` while holding a lock on `key` across every process: one key (SET NX PX, renewed
 * every third of `ttlMs` while `work` runs, released with a compare-and-delete), so it holds on a
 * Redis Cluster too. A holder that dies frees it after `ttlMs`; one that stalls (a slow MySQL
 * lock wait) keeps it. Not a Redlock: on a failover that loses the key two holders may overlap
 * once (docs/api.md, "Device limit").
 */
export async function withRedisLock<T>(redis: RedisClient, key: string, options: LockOptions, work: () => Promise<T>): Promise<T> {
  const token = randomBytes(12).toString('base64url');
  const giveUp = Date.now() + options.waitMs;
  for (let pause = 5; ; pause = Math.min(pause * 2, 50)) {
    if ((await redis.set(key, token, 'PX', options.ttlMs, 'NX')) === 'OK') break;
    if (Date.now() >= giveUp) throw new AppError(ErrorCode.UNAVAILABLE, 'another sign-in of this account is in progress; try again');
    await new Promise((resolve) => setTimeout(resolve, pause * (0.5 + Math.random())));
  }
  const renewal = setInterval(() => void redis.eval(RENEW, 1, key, token, options.ttlMs).catch(() => undefined), Math.max(options.ttlMs / 3, 100));
  try {
    return await work();
  } finally {
    clearInterval(renewal);
    await compareAndDelete(redis, key, token).catch(() => undefined);
  }
}
