import { withRedisLock } from '../../src/redis/redis-lock';
import { TestWorld } from '../support/test-app';
import type { TestRedis } from '../support/test-redis';

/** The per-account lock of the device limit, against the real Redis (or Redis Cluster). */
describe('withRedisLock', () => {
  let world: TestWorld;
  let redis: TestRedis;

  beforeAll(async () => {
    world = await TestWorld.create();
    redis = world.redis;
  });
  afterAll(() => world.close());

  it('keeps the lock while slow work runs past its TTL, and frees it after', async () => {
    const options = { ttlMs: 300, waitMs: 200 };
    let second: unknown;
    await withRedisLock(redis, 'lock:slow', options, async () => {
      await new Promise((resolve) => setTimeout(resolve, 900)); // three TTLs
      second = await withRedisLock(redis, 'lock:slow', options, async () => 'got it').catch((err: Error) => err.message);
    });
    expect(second).toMatch(/another sign-in of this account is in progress/);
    expect(await redis.exists('lock:slow')).toBe(0);
    await expect(withRedisLock(redis, 'lock:slow', options, async () => 'next')).resolves.toBe('next');
  });

  it("a holder that died frees the lock after its TTL; a release never removes another holder's lock", async () => {
    await redis.set('lock:dead', 'a dead holder', 'PX', 300);
    await expect(withRedisLock(redis, 'lock:dead', { ttlMs: 1000, waitMs: 1000 }, async () => 'after the TTL')).resolves.toBe('after the TTL');
    await withRedisLock(redis, 'lock:other', { ttlMs: 1000, waitMs: 100 }, async () => {
      await redis.set('lock:other', 'taken over', 'PX', 1000); // e.g. after a failover lost the key
    });
    expect(await redis.get('lock:other')).toBe('taken over');
  });
});
