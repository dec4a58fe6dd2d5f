import { AdminCacheService } from '../../src/admin/admin-cache.service';
import { CacheAudit } from '../../src/admin/cache-audit';
import { PASSWORD } from '../support/builders';
import { createOperator, registerUser, staffLogin } from '../support/flows';
import { Api } from '../support/http';
import { TestWorld } from '../support/test-app';
import { eventually } from '../support/wait';

describe('GET /admin/cache/audit (issue 4): stale entries left by hand-written SQL', () => {
  let world: TestWorld;
  let api: Api;
  let admin: string;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ api } = await world.start());
    admin = await staffLogin(api, world.admin.phone, world.admin.password);
  });
  afterAll(() => world.close());

  it('reports each stale entry with its reason; repair=true deletes them and the service serves the database again', async () => {
    const user = await registerUser(api);
    const login = await api.post('/auth/login', { phone: user.phone, password: PASSWORD, identifier: user.identifier });
    const token = login.body.data.token;
    expect((await api.get('/me', token)).body.data.nickname).toBe('');
    await world.sql.query('UPDATE app_users SET nickname = ? WHERE id = ?', ['set-by-sql', user.userId]);
    expect((await api.get('/me', token)).body.data.nickname).toBe(''); // the stale copy, as CDC_MODE=off allows

    const report = await api.get('/admin/cache/audit?scope=appUsers', admin);
    expect(report.status).toBe(200);
    expect(report.body.data).toMatchObject({ scope: 'appUsers', repair: false, repaired: 0 });
    expect(report.body.data.stale).toEqual([{ key: `cache:appUsers:id:${user.userId}`, reason: 'row_differs', detail: 'differs in nickname' }]);
    expect(await world.redis.exists(`cache:appUsers:id:${user.userId}`)).toBe(1);

    const repaired = await api.get('/admin/cache/audit?scope=all&repair=true', admin);
    expect(repaired.body.data).toMatchObject({ scope: 'all', repair: true, repaired: 1 });
    expect((await api.get('/me', token)).body.data.nickname).toBe('set-by-sql');
    expect((await api.get('/admin/cache/audit', admin)).body.data.stale).toEqual([]);
  });
});

describe('background audits (POST /admin/cache/audits): totals at once, stale entries a page at a time, from any process', () => {
  let world: TestWorld;
  let api: Api;
  let admin: string;
  let operator: string;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ api } = await world.start());
    admin = await staffLogin(api, world.admin.phone, world.admin.password);
    ({ token: operator } = await createOperator(api, admin));
  });
  afterAll(() => world.close());
  afterEach(() => jest.restoreAllMocks());

  /** Rows of users that do not exist: what a hand-written TRUNCATE leaves in the cache. */
  const seedStale = async (count: number, from = 70_000_000) => {
    const keys = Array.from({ length: count }, (_, i) => `cache:appUsers:id:${from + i}`);
    await Promise.all(keys.map((key, i) => world.redis.set(key, JSON.stringify({ id: from + i, phone: '13800000000', status: 1 }))));
    return keys;
  };
  /** Holds every audit inside its first step until released: an audit certainly running, for as long as the test needs. */
  const holdAuditSteps = (): (() => void) => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const step = CacheAudit.prototype as unknown as { auditBatch: (...args: unknown[]) => Promise<unknown> };
    const original = step.auditBatch;
    jest.spyOn(step, 'auditBatch').mockImplementation(async function (this: unknown, ...args: unknown[]) {
      await held;
      return original.apply(this, args);
    });
    return release;
  };
  const finished = async (token: string, id: string) =>
    eventually(
      `audit ${id} finished`,
      async () => (await api.get(`/admin/cache/audits/${id}`, token)).body.data,
      (job) => job.status !== 'running',
      20_000,
    );

  it('answers the start at once, then the totals by reason, and pages through every stale entry exactly once', async () => {
    const keys = await seedStale(1234);
    const started = await api.post('/admin/cache/audits', { scope: 'appUsers' }, admin);
    expect(started.status).toBe(200);
    expect(started.body.data).toMatchObject({ scope: 'appUsers', repair: false, status: 'running', alreadyRunning: false });
    expect(started.body.data.id).toMatch(/^[0-9a-f]{16}$/);
    const job = await finished(admin, started.body.data.id);
    expect(job).toMatchObject({ status: 'done', fraction: 1, staleTotal: 1234, repaired: 0, error: null });
    expect(job.staleByReason).toEqual({ row_differs: 0, row_gone: 1234, index_wrong_id: 0, placeholder_for_existing_row: 0 });
    expect(job.startedBy).toContain(world.admin.phone);

    const seen: string[] = [];
    for (let offset = 0; ; offset += 500) {
      const page = await api.get(`/admin/cache/audits/${job.id}/stale?offset=${offset}&limit=500`, operator);
      expect(page.status).toBe(200);
      expect(page.body.data).toMatchObject({ id: job.id, total: 1234, offset });
      expect(page.body.data.items.length).toBe(Math.min(500, Math.max(0, 1234 - offset)));
      seen.push(...page.body.data.items.map((item: { key: string; reason: string }) => (expect(item.reason).toBe('row_gone'), item.key)));
      if (page.body.data.items.length === 0) break;
    }
    expect(seen.sort()).toEqual([...keys].sort());
    expect(await world.redis.exists(...keys.slice(0, 10))).toBe(10); // nothing repaired
  });

  it('repair deletes the stale keys, admins only: an operator may audit but not repair, and nothing is deleted', async () => {
    const keys = await seedStale(30, 71_000_000);
    const refused = await api.post('/admin/cache/audits', { scope: 'appUsers', repair: true }, operator);
    expect([refused.status, refused.body.code]).toEqual([403, 100004]);
    const sync = await api.get('/admin/cache/audit?scope=appUsers&repair=true', operator);
    expect([sync.status, sync.body.code]).toEqual([403, 100004]);
    expect(await world.redis.exists(...keys)).toBe(30);

    const read = await api.post('/admin/cache/audits', { scope: 'appUsers' }, operator);
    expect((await finished(operator, read.body.data.id)).staleTotal).toBeGreaterThanOrEqual(30);

    const repair = await api.post('/admin/cache/audits', { scope: 'appUsers', repair: true }, admin);
    const done = await finished(admin, repair.body.data.id);
    expect(done).toMatchObject({ status: 'done', repair: true });
    expect(done.repaired).toBe(done.staleTotal);
    expect(await world.redis.exists(...keys)).toBe(0);
  });

  it('one audit at a time in the deployment: starts at the same moment, or on another process, answer the running one', async () => {
    await seedStale(10, 72_000_000);
    // Hold the audit inside its first step, so that it is certainly running when asked again.
    const release = holdAuditSteps();
    const starts = await Promise.all(Array.from({ length: 8 }, () => api.post('/admin/cache/audits', { scope: 'all' }, operator)));
    const ids = new Set(starts.map((res) => res.body.data.id));
    expect(ids.size).toBe(1);
    expect(starts.filter((res) => res.body.data.alreadyRunning === false)).toHaveLength(1);

    const { api: other } = await world.start();
    const elsewhere = await other.post('/admin/cache/audits', { scope: 'appUsers', repair: true }, admin);
    expect(elsewhere.body.data).toMatchObject({ id: [...ids][0], scope: 'all', repair: false, alreadyRunning: true });
    release();
    expect((await finished(admin, [...ids][0])).status).toBe('done');
    expect(await world.redis.exists('admin_audit:running')).toBe(0);
    const next = await other.post('/admin/cache/audits', { scope: 'appUsers' }, admin);
    expect(next.body.data.alreadyRunning).toBe(false);
    await finished(admin, next.body.data.id);
  });

  it('keeps the first 10,000 stale entries for paging and counts them all', async () => {
    await seedStale(10_050, 74_000_000);
    const started = await api.post('/admin/cache/audits', { scope: 'appUsers' }, admin);
    const job = await finished(admin, started.body.data.id);
    expect(job.staleTotal).toBeGreaterThanOrEqual(10_050);
    expect(job.staleKept).toBe(10_000);
    const page = await api.get(`/admin/cache/audits/${job.id}/stale?offset=9990&limit=50`, admin);
    expect(page.body.data).toMatchObject({ total: 10_000, offset: 9990 });
    expect(page.body.data.items).toHaveLength(10);
    await world.redis.del(...Array.from({ length: 10_050 }, (_, i) => `cache:appUsers:id:${74_000_000 + i}`));
  });

  it('says an audit whose process stopped was interrupted, and answers 404 / 100008 for an unknown or expired one', async () => {
    const id = 'abcdef0123456789';
    const old = new Date(Date.now() - 60_000).toISOString();
    await world.redis.set(`admin_audit:{${id}}`, JSON.stringify({ id, scope: 'all', repair: false, status: 'running', startedAt: old, updatedAt: old }));
    const job = await api.get(`/admin/cache/audits/${id}`, admin);
    expect(job.body.data).toMatchObject({ id, status: 'interrupted' });
    expect(job.body.data.error).toMatch(/stopped before it finished/);

    for (const path of ['/admin/cache/audits/0123456789abcdef', '/admin/cache/audits/0123456789abcdef/stale']) {
      const res = await api.get(path, admin);
      expect([res.status, res.body.code]).toEqual([404, 100008]);
    }
  });

  it.each([
    ['POST', '/admin/cache/audits', { scope: 'everything' }],
    ['POST', '/admin/cache/audits', { repair: 'yes' }],
    ['GET', '/admin/cache/audits/not-an-id', undefined],
    ['GET', '/admin/cache/audits/0123456789abcdef/stale?limit=501', undefined],
    ['GET', '/admin/cache/audits/0123456789abcdef/stale?offset=-1', undefined],
    ['GET', '/admin/cache/audit?limit=10001', undefined],
  ])('%s %s %j: 400 / 100002, nothing started', async (method, path, body) => {
    const res = await api.call(method, path, { token: admin, body });
    expect([res.status, res.body.code]).toEqual([400, 100002]);
    expect(await world.redis.keys('admin_audit:*')).toEqual(expect.not.arrayContaining([expect.stringMatching(/everything/)]));
  });

  it('GET /admin/cache/audit answers at most `limit` stale entries, with the total of all', async () => {
    await seedStale(25, 73_000_000);
    const res = await api.get('/admin/cache/audit?scope=appUsers&limit=5', admin);
    expect(res.status).toBe(200);
    expect(res.body.data.stale).toHaveLength(5);
    expect(res.body.data.staleTotal).toBeGreaterThanOrEqual(25);
    expect(res.body.data.staleByReason.row_gone).toBe(res.body.data.staleTotal);
  });

  it('a process shutting down stops its audit at the next step, records it as failed, and starts none: 503 / 100007', async () => {
    await seedStale(3000, 75_000_000);
    const { app, api: closing } = await world.start();
    const release = holdAuditSteps();
    const started = await closing.post('/admin/cache/audits', { scope: 'appUsers' }, admin);
    const stopping = app.get(AdminCacheService).onApplicationShutdown();
    const refused = await closing.post('/admin/cache/audits', { scope: 'appUsers' }, admin);
    expect([refused.status, refused.body.code]).toEqual([503, 100007]);
    release();
    await stopping;
    const job = (await api.get(`/admin/cache/audits/${started.body.data.id}`, admin)).body.data;
    expect(job).toMatchObject({ status: 'failed', error: 'stopped: the process shut down' });
    expect(job.staleTotal).toBeLessThanOrEqual(job.scanned);
    expect(await world.redis.exists('admin_audit:running')).toBe(0);
  });
});
