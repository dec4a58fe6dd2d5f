import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { AppUser } from '../../src/app-user/app-user.entity';
import { UserStatus } from '../../src/common/user-status';
import { AppUserRepository } from '../../src/app-user/app-user.repository';
import { CacheGate } from '../../src/cache/cache-gate';
import { InvalidationOutbox } from '../../src/cache/invalidation-outbox.service';
import { PASSWORD, uniqueIdentifier, uniquePhone } from '../support/builders';
import { registerUser } from '../support/flows';
import { Api } from '../support/http';
import { OwnRedis, startRedisServer } from '../support/redis-server';
import { TestWorld } from '../support/test-app';
import { eventually as eventuallyWithin, within } from '../support/wait';

/**
 * Redis goes away while the database keeps changing. The Redis here is the test's own (on its own
 * port, saving its data on shutdown): when it comes back it brings the stale cache entries with it,
 * the worst case for coherence. The outbox must still invalidate them, across a restart too.
 */

const eventually = <T>(what: string, probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 10_000) =>
  eventuallyWithin(what, probe, accept, timeoutMs);

describe('invalidations survive a Redis outage (transactional outbox)', () => {
  let redis: OwnRedis;
  let world: TestWorld;
  let app: NestFastifyApplication;
  let api: Api;

  beforeAll(async () => {
    redis = await startRedisServer({ persist: true });
    world = await TestWorld.create({ redis: { host: redis.host, port: redis.port } });
    ({ app, api } = await world.start());
  });
  afterAll(async () => {
    await world?.close();
    await redis?.destroy();
  });

  const login = (phone: string) => api.post('/auth/login', { phone, password: PASSWORD, identifier: uniqueIdentifier() });
  const pending = async () => Number((await world.sql.query<any[]>('SELECT COUNT(*) AS n FROM cache_invalidations'))[0][0].n);

  /**
   * Disables a user through the model layer (the subscriber and the outbox), as an admin route
   * would, while Redis is away: the change commits, and the write is not acknowledged as done.
   */
  async function disable(target: NestFastifyApplication, userId: number): Promise<void> {
    const user = await target.get(DataSource).getRepository(AppUser).findOneByOrFail({ id: userId });
    user.status = UserStatus.Disabled;
    await expect(target.get(AppUserRepository).save(user)).rejects.toMatchObject({ code: 100007, status: 503 });
  }

  it('while Redis is down writes commit, routes answer 503 (not 500), nothing crashes; after recovery nothing stale remains', async () => {
    const phone = uniquePhone();
    const { userId, token } = await registerUser(api, phone);
    expect((await login(phone)).status).toBe(200);
    expect(await world.redis.exists(`cache:appUsers:id:${userId}`, `cache:appUsers:phone:${phone}`)).toBe(2);

    await redis.stop();
    await disable(app, userId); // commits; its invalidation cannot reach Redis and stays in the outbox
    expect(await pending()).toBeGreaterThanOrEqual(1);
    expect((await world.sql.query<any[]>('SELECT status FROM app_users WHERE id = ?', [userId]))[0][0].status).toBe(2);

    for (const res of [await api.get('/me', token), await api.post('/auth/device', { identifier: uniqueIdentifier() })]) {
      expect([res.status, res.body.code]).toEqual([503, 100007]);
    }
    // With invalidations pending, reads go to MySQL: a refusal it can answer alone is answered.
    const refusedMeanwhile = await login(phone);
    expect([refusedMeanwhile.status, refusedMeanwhile.body.code]).toEqual([403, 20004]);
    const health = await api.get('/health');
    expect(health.status).toBe(503);
    expect(health.body.msg).toContain('redis');
    expect((await api.get('/health/live')).status).toBe(200);

    await redis.start(); // comes back with the stale row cached
    await eventually('outbox drained', pending, (n) => n === 0);
    await eventually(
      'the cache in use again',
      async () => app.get(CacheGate).isOpen,
      (open) => open,
    );
    expect(await world.redis.exists(`cache:appUsers:id:${userId}`, `cache:appUsers:phone:${phone}`)).toBe(0);
    const refused = await eventually(
      'login once Redis answers',
      () => login(phone),
      (res) => res.status !== 503,
    );
    expect([refused.status, refused.body.code]).toEqual([403, 20004]);
  });

  it('a process restarted while invalidations are pending relays them once Redis answers', async () => {
    const phone = uniquePhone();
    const { userId } = await registerUser(api, phone);
    expect((await login(phone)).status).toBe(200);

    await redis.stop();
    await disable(app, userId);
    expect(await pending()).toBeGreaterThanOrEqual(1);
    // The process that recorded the invalidation shuts down while Redis is still down: the
    // shutdown must not wait for Redis, and the pending invalidation stays in the outbox.
    await within(app.close(), 5000, 'shutdown while Redis is down');
    await redis.start();
    expect(await pending()).toBeGreaterThanOrEqual(1);
    expect(await world.redis.exists(`cache:appUsers:id:${userId}`)).toBe(1); // stale until a relay runs
    ({ app, api } = await world.start());
    await eventually('outbox drained by the new process', pending, (n) => n === 0);
    expect(await world.redis.exists(`cache:appUsers:id:${userId}`, `cache:appUsers:phone:${phone}`)).toBe(0);
    expect((await login(phone)).body.code).toBe(20004);
  });

  it('a Redis that comes back holding a row changed meanwhile is not read before the invalidation reaches it', async () => {
    const phone = uniquePhone();
    const { userId, token } = await registerUser(api, phone);
    expect((await api.patch('/me', { nickname: 'before' }, token)).status).toBe(200);
    expect((await api.get('/me', token)).body.data.nickname).toBe('before'); // cached
    const outbox = app.get(InvalidationOutbox);
    const drain = outbox.drain.bind(outbox);
    const held = jest.spyOn(outbox, 'drain').mockImplementation(() => Promise.resolve(0)); // the relay is late
    try {
      await redis.stop();
      const user = await app.get(DataSource).getRepository(AppUser).findOneByOrFail({ id: userId });
      user.nickname = 'after';
      await expect(app.get(AppUserRepository).save(user)).rejects.toMatchObject({ code: 100007 });
      await redis.start(); // with the row that says 'before'
      expect(JSON.parse((await world.redis.get(`cache:appUsers:id:${userId}`)) as string).nickname).toBe('before');
      const me = await eventually(
        'Redis answers',
        () => api.get('/me', token),
        (res) => res.status !== 503,
      );
      expect(me.body.data.nickname).toBe('after');
      expect(app.get(CacheGate).isOpen).toBe(false);
    } finally {
      held.mockRestore();
    }
    await drain();
    expect(app.get(CacheGate).isOpen).toBe(true);
    expect(await world.redis.exists(`cache:appUsers:id:${userId}`)).toBe(0);
    expect((await api.get('/me', token)).body.data.nickname).toBe('after');
  });
});
