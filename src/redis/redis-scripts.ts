import type Redis from 'ioredis';

// Deletes a key only if it still holds `value`: what replaced it since stays.
const COMPARE_AND_DELETE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

interface CompareAndDelete {
  hiCompareAndDelete(key: string, value: string): Promise<number>;
}

const defined = new WeakSet<object>();

/** DEL `key` if it holds `value`, in one step; 1 when it was deleted. */
export function compareAndDelete(redis: Redis, key: string, value: string): Promise<number> {
  if (!defined.has(redis)) {
    redis.defineCommand('hiCompareAndDelete', { numberOfKeys: 1, lua: COMPARE_AND_DELETE });
    defined.add(redis);
  }
  return (redis as unknown as CompareAndDelete).hiCompareAndDelete(key, value);
}
