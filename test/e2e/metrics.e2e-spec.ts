import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { RecentSessionEnds } from '../../src/metrics/recent-session-ends';
import { uniqueIdentifier } from '../support/builders';
import { connectDevice, within } from '../support/device-socket';
import { deviceLogin, registerUser, staffLogin } from '../support/flows';
import { Api } from '../support/http';
import { TestWorld } from '../support/test-app';

type Samples = Map<string, number>;

/** `name{a="1",b="2"} 3` lines into a map keyed by `name{a="1",b="2"}` (labels as the server wrote them). */
function parse(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) samples.set(m[1], Number(m[2]));
  }
  return samples;
}

describe('Prometheus metrics at /metrics', () => {
  let world: TestWorld;
  let api: Api;
  let url: string;

  const scrape = async (): Promise<Samples> => {
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return parse(await res.text());
  };
  const value = (samples: Samples, key: string) => samples.get(key) ?? 0;
  const delta = (before: Samples, after: Samples, key: string) => value(after, key) - value(before, key);

  beforeAll(async () => {
    world = await TestWorld.create();
    // No periodic sweep: it could kick an already-kicked socket again and count it twice.
    ({ api, url } = await world.start({ SOCKET_SWEEP_SECONDS: '3600' }));
  });
  afterAll(() => world.close());

  it('counts requests by route pattern and status, with latencies', async () => {
    const user = await registerUser(api);
    await api.get('/me', user.token);
    const before = await scrape();

    for (let i = 0; i < 3; i += 1) expect((await api.get('/me', user.token)).status).toBe(200);
    expect((await api.get('/me')).status).toBe(401);
    const admin = await staffLogin(api, world.admin.phone, world.admin.password);
    expect((await api.get(`/admin/app-users/${user.userId}`, admin)).status).toBe(200);
    expect((await api.get('/no/such/route')).status).toBe(404);
    const after = await scrape();

    expect(delta(before, after, 'hi_http_requests_total{method="GET",route="/me",status="200"}')).toBe(3);
    expect(delta(before, after, 'hi_http_requests_total{method="GET",route="/me",status="401"}')).toBe(1);
    expect(delta(before, after, 'hi_http_requests_total{method="GET",route="/admin/app-users/:id",status="200"}')).toBe(1);
    expect(delta(before, after, 'hi_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect(delta(before, after, 'hi_http_request_duration_seconds_count{method="GET",route="/me",status="200"}')).toBe(3);
    expect(delta(before, after, 'hi_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/me",status="200"}')).toBe(3);
    expect([...after.keys()].some((k) => k.includes(`/admin/app-users/${user.userId}`))).toBe(false);
  });

  it('counts cache hits and misses per entity and reports the hit ratio', async () => {
    const user = await registerUser(api);
    await api.get('/me', user.token);
    const before = await scrape();

    for (let i = 0; i < 4; i += 1) await api.get('/me', user.token);
    await world.redis.del(`cache:appUsers:id:${user.userId}`);
    await api.get('/me', user.token);
    const after = await scrape();

    expect(delta(before, after, 'hi_cache_hits_total{entity="appUsers"}')).toBe(4);
    expect(delta(before, after, 'hi_cache_misses_total{entity="appUsers"}')).toBe(1);
    const hits = value(after, 'hi_cache_hits_total{entity="appUsers"}');
    const misses = value(after, 'hi_cache_misses_total{entity="appUsers"}');
    expect(value(after, 'hi_cache_hit_ratio{entity="appUsers"}')).toBeCloseTo(hits / (hits + misses), 6);
  });

  it('counts invalidated keys per entity, and no failures while Redis answers', async () => {
    const user = await registerUser(api);
    const before = await scrape();
    expect((await api.patch('/me', { nickname: 'renamed' }, user.token)).status).toBe(200);
    const after = await scrape();
    expect(delta(before, after, 'hi_cache_invalidated_keys_total{entity="appUsers"}')).toBeGreaterThanOrEqual(2);
    expect(value(after, 'hi_cache_invalidation_failed_keys_total{entity="appUsers"}')).toBe(0);
  });

  it('counts revoked sessions and kicked sockets by reason, and connected devices', async () => {
    const identifier = uniqueIdentifier();
    const first = await deviceLogin(api, identifier);
    const before = await scrape();
    const conn = await connectDevice(url, first.token);
    expect(value(await scrape(), 'hi_devices_connected') - value(before, 'hi_devices_connected')).toBe(1);

    await deviceLogin(api, identifier, first.deviceSecret);
    expect(await within(conn.kicked, 5000, 'kicked')).toBe('replaced');
    await within(conn.closed, 5000, 'closed');
    const afterReplace = await scrape();
    expect(delta(before, afterReplace, 'hi_sessions_revoked_total{reason="replaced"}')).toBe(1);
    expect(delta(before, afterReplace, 'hi_sockets_kicked_total{reason="replaced"}')).toBe(1);
    expect(value(afterReplace, 'hi_devices_connected')).toBe(value(before, 'hi_devices_connected'));

    const second = await deviceLogin(api, uniqueIdentifier());
    await api.post('/auth/logout', {}, second.token);
    expect(delta(afterReplace, await scrape(), 'hi_sessions_revoked_total{reason="logout"}')).toBe(1);
  });

  it('shows no change-capture lag while change capture is off, and the process metrics', async () => {
    const samples = await scrape();
    expect([...samples.keys()].filter((k) => k.startsWith('hi_cdc_'))).toEqual([]);
    expect(samples.has('process_cpu_seconds_total')).toBe(true);
    expect(samples.has('nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('needs no token and is not wrapped in the JSON envelope', async () => {
    const res = await fetch(`${url}/metrics`);
    const text = await res.text();
    expect(text).toMatch(/^# HELP /m);
    expect(text).toContain('# TYPE hi_http_requests_total counter');
  });
});

describe('GET /admin/coherence: what someone on call asks first, in one answer', () => {
  let world: TestWorld;
  let api: Api;
  let app: NestFastifyApplication;
  let admin: string;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ api, app } = await world.start());
    admin = await staffLogin(api, world.admin.phone, world.admin.password);
  });
  afterAll(() => world.close());
  afterEach(() => jest.restoreAllMocks());

  it('reports change capture, both outboxes, cache figures from the metrics, and the latest session ends with reason and cause', async () => {
    const user = await registerUser(api);
    await api.get('/me', user.token);
    await api.get('/me', user.token);
    expect((await api.post('/auth/logout', {}, user.token)).status).toBe(200);

    const res = await api.get('/admin/coherence', admin);
    expect(res.status).toBe(200);
    const report = res.body.data;
    expect(report.cdc).toMatchObject({ mode: 'off', role: 'off', lagSeconds: null, checkpointSavedAgoSeconds: null });
    expect(report.outbox).toEqual({ invalidations: { pending: 0, oldestAgeSeconds: null }, sessionEndings: { pending: 0, oldestAgeSeconds: null } });
    const appUsers = report.cache.find((e: { entity: string }) => e.entity === 'appUsers');
    expect(appUsers.hits).toBeGreaterThanOrEqual(1);
    expect(appUsers.hitRatio).toBeCloseTo(appUsers.hits / (appUsers.hits + appUsers.misses), 3);
    expect(report.sessionsEnded.logout).toBeGreaterThanOrEqual(1);
    expect(report.recentSessionEnds[0]).toMatchObject({ reason: 'logout', identifier: user.identifier, userId: user.userId });
    expect(report.recentSessionEnds[0].sessionId).toHaveLength(12);
    expect(report.recentSessionEnds[0].by).toContain(user.identifier);
  });

  it('shows an undelivered invalidation in the outbox with its age', async () => {
    await world.sql.query('INSERT INTO cache_invalidations (cache_keys, created_at) VALUES (\'["cache:appUsers:id:1"]\', NOW(3) - INTERVAL 90 SECOND)');
    try {
      const { outbox } = (await api.get('/admin/coherence', admin)).body.data;
      expect(outbox.invalidations.pending).toBe(1);
      expect(outbox.invalidations.oldestAgeSeconds).toBeGreaterThanOrEqual(90);
    } finally {
      await world.sql.query('DELETE FROM cache_invalidations');
    }
  });

  it('answers the rest when MySQL or Redis does not: the part it could not read says why', async () => {
    const db = app.get(DataSource);
    const query = db.query.bind(db);
    jest
      .spyOn(db, 'query')
      .mockImplementation((sql: string, ...rest: unknown[]) =>
        /cache_invalidations|session_endings/.test(sql) ? Promise.reject(new Error('connection lost')) : query(sql, ...(rest as [])),
      );
    jest.spyOn(app.get(RecentSessionEnds), 'list').mockRejectedValue(new Error('Connection is closed.'));
    const res = await api.get('/admin/coherence', admin);
    expect(res.status).toBe(200);
    expect(res.body.data.outbox).toEqual({ unavailable: 'connection lost' });
    expect(res.body.data.recentSessionEnds).toEqual({ unavailable: 'Connection is closed.' });
    expect(res.body.data.cdc.mode).toBe('off');
  });
});
