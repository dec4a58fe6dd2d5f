import type { RedisClient } from './redis-client';

/** Small scripts shared by several modules; each touches one key, so they hold on a cluster too. */
const SCRIPTS = {
  // Deletes a key only if it still holds `value`: what replaced it since stays.
  hiCompareAndDelete: `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
  // ARGV: limit, window (s). Counts one attempt unless the limit is reached: 0 when counted, else
  // the seconds until the window ends.
  hiTakeAttempt: `
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then return math.max(redis.call('TTL', KEYS[1]), 1) end
redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0`,
};

type Shared = Record<keyof typeof SCRIPTS, (key: string, ...args: Array<string | number>) => Promise<number>>;
const defined = new WeakSet<object>();

function shared(redis: RedisClient): Shared {
  if (!defined.has(redis)) {
    for (const [name, lua] of Object.entries(SCRIPTS)) redis.defineCommand(name, { numberOfKeys: 1, lua });
    defined.add(redis);
  }
  return redis as unknown as Shared;
}

/** DEL `key` if it holds `value`, in one step; 1 when it was deleted. */
export function compareAndDelete(redis: RedisClient, key: string, value: string): Promise<number> {
  return shared(redis).hiCompareAndDelete(key, value);
}

/** Counts an attempt against `limit` per `windowSeconds`, atomically: 0 when counted, else seconds to wait. */
export function takeAttempt(redis: RedisClient, key: string, limit: number, windowSeconds: number): Promise<number> {
  return shared(redis).hiTakeAttempt(key, limit, windowSeconds);
}
