import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { CdcStatus } from '../../src/cdc/cdc-status';
import { ChangeApplier } from '../../src/cdc/change-applier';
import { PASSWORD, uniqueIdentifier, uniquePhone } from '../support/builders';
import { BinlogMariaDb, startBinlogMariaDb } from '../support/binlog-mariadb';
import { cdcSettled } from '../support/cdc';
import { registerUser } from '../support/flows';
import { Api } from '../support/http';
import { OwnRedis, startRedisServer } from '../support/redis-server';
import { TestWorld } from '../support/test-app';
import { eventually as eventuallyWithin, within } from '../support/wait';

/** Change capture while Redis is away: it holds its checkpoint and applies everything once Redis is back. */
const eventually = <T>(what: string, probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 10_000) =>
  eventuallyWithin(what, probe, accept, timeoutMs);

describe('change capture through a Redis outage', () => {
  let db: BinlogMariaDb;
  let redis: OwnRedis;
  let world: TestWorld;
  let app: NestFastifyApplication;
  let api: Api;

  beforeAll(async () => {
    [db, redis] = await Promise.all([startBinlogMariaDb(), startRedisServer({ persist: true })]);
    world = await TestWorld.create({ database: db, redis: { host: redis.host, port: redis.port } });
    ({ app, api } = await world.start({ CDC_MODE: 'binlog', CDC_HEARTBEAT_SECONDS: '1' }));
  });
  afterAll(async () => {
    await world?.close();
    await Promise.all([db?.stop(), redis?.destroy()]);
  });

  const checkpoint = async () => (await world.sql.query<any[]>('SELECT binlog_position AS p FROM cdc_checkpoints'))[0][0].p;

  it('does not move its checkpoint past a change it could not invalidate, and applies it when Redis answers', async () => {
    const phone = uniquePhone();
    const { userId } = await registerUser(api, phone);
    expect((await api.post('/auth/login', { phone, password: PASSWORD, identifier: uniqueIdentifier() })).status).toBe(200);
    const status = app.get(CdcStatus);
    await cdcSettled(app, world.sql);
    const before = await checkpoint();

    await redis.stop();
    await world.sql.query('UPDATE app_users SET status = 2 WHERE id = ?', [userId]);
    await eventually(
      'the failure noticed',
      async () => status.lastError ?? '',
      (error) => error.startsWith('redis'),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await checkpoint()).toBe(before);
    const health = await api.get('/health');
    expect(health.status).toBe(503);

    await redis.start(); // with the stale row still cached
    await eventually(
      'keys of the disabled user',
      () => world.redis.exists(`cache:appUsers:id:${userId}`, `cache:appUsers:phone:${phone}`),
      (n) => n === 0,
    );
    const refused = await eventually(
      'login',
      () => api.post('/auth/login', { phone, password: PASSWORD, identifier: uniqueIdentifier() }),
      (res) => res.status !== 503,
    );
    expect([refused.status, refused.body.code]).toEqual([403, 20004]);
    await eventually('checkpoint moved on', checkpoint, (p) => Number(p) > Number(before));
  });

  it('stops reading the binlog while Redis is away instead of queuing it in memory, and resumes where it stopped', async () => {
    const users: Array<Awaited<ReturnType<typeof registerUser>>> = [];
    for (let i = 0; i < 3; i++) users.push(await registerUser(api));
    await cdcSettled(app, world.sql); // the registrations' own inserts, replayed, would clear what GET /me caches
    for (const user of users) expect((await api.get('/me', user.token)).status).toBe(200);
    const keysOf = (userId: number) => [`cache:appUsers:id:${userId}`];
    expect(await world.redis.exists(...users.flatMap((u) => keysOf(u.userId)))).toBe(3);
    const status = app.get(CdcStatus);

    await redis.stop();
    await world.sql.query('UPDATE app_users SET nickname = ? WHERE id = ?', ['first', users[0].userId]);
    await eventually(
      'the stream paused',
      async () => status.connected,
      (connected) => !connected,
    );
    const received = status.received;
    for (const user of users.slice(1)) await world.sql.query('UPDATE app_users SET nickname = ? WHERE id = ?', ['later', user.userId]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(status.received).toEqual(received);
    expect(app.get(ChangeApplier).backlog).toBeLessThan(5);

    await redis.start();
    await eventually(
      'every changed row invalidated',
      () => world.redis.exists(...users.flatMap((u) => keysOf(u.userId))),
      (n) => n === 0,
    );
    await eventually(
      'the stream reopened',
      async () => status.connected,
      (connected) => connected,
    );
    for (const [i, user] of users.entries()) expect((await api.get('/me', user.token)).body.data.nickname).toBe(i === 0 ? 'first' : 'later');
  });

  it('shuts down promptly while the stream waits for Redis (last: it closes the app)', async () => {
    const user = await registerUser(api);
    const status = app.get(CdcStatus);
    await cdcSettled(app, world.sql);
    await redis.stop();
    await world.sql.query('UPDATE app_users SET nickname = ? WHERE id = ?', ['bye', user.userId]);
    await eventually(
      'the stream paused',
      async () => status.connected,
      (connected) => !connected,
    );
    await within(app.close(), 5000, 'app.close()');
    await redis.start();
  });
});
