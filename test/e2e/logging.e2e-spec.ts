import { createApp } from '../../src/app.factory';
import { PASSWORD, uniqueEmail, uniqueIdentifier, uniquePhone } from '../support/builders';
import { emailCodeOf, staffLogin } from '../support/flows';
import { Api } from '../support/http';
import { TestWorld } from '../support/test-app';
import { sqlConnection } from '../support/test-database';

type Line = Record<string, any>;

describe('structured JSON logs', () => {
  let world: TestWorld;
  let url: string;
  let api: Api;
  const raw: string[] = [];
  const lines = (): Line[] =>
    raw
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  const ofRequest = (id: string) => lines().filter((l) => l.requestId === id || l.req?.id === id);

  const call = async (id: string, method: string, path: string, options: { token?: string; body?: unknown } = {}) => {
    const headers: Record<string, string> = { 'x-request-id': id };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${url}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
    expect(res.headers.get('request-id') ?? id).toBe(id);
    return { status: res.status, body: (await res.json()) as any };
  };

  /** pino writes asynchronously after the reply: wait for the request's completion line. */
  const completed = async (id: string): Promise<Line[]> => {
    for (let i = 0; i < 50 && !ofRequest(id).some((l) => l.res); i += 1) await new Promise((r) => setTimeout(r, 20));
    return ofRequest(id);
  };

  beforeAll(async () => {
    world = await TestWorld.create();
    const app = await createApp(world.config({ LOG_LEVEL: 'info' }), { logDestination: { write: (chunk: string) => void raw.push(chunk) } });
    await app.listen(0, '127.0.0.1');
    world.onClose(() => app.close());
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    api = new Api(url);
  });
  afterAll(() => world.close());

  it('liveness probes and metric scrapes leave no completion line; readiness checks do', async () => {
    await call('probe-live', 'GET', '/health/live');
    await call('probe-live-q', 'GET', '/health/live?from=k8s');
    await fetch(`${url}/metrics`, { headers: { 'x-request-id': 'probe-metrics' } }).then((res) => res.text());
    await call('probe-ready', 'GET', '/health');
    // Lines are written in order: once the readiness check's line is in, the probes' would be too.
    expect((await completed('probe-ready')).some((l) => l.msg === 'request completed')).toBe(true);
    expect([...ofRequest('probe-live'), ...ofRequest('probe-live-q'), ...ofRequest('probe-metrics')]).toEqual([]);
  });

  it('a failed query is logged under its request id without the parameters it carried', async () => {
    const phone = uniquePhone();
    const register = await call('reg-0002', 'POST', '/auth/register', { body: { phone, password: PASSWORD, identifier: uniqueIdentifier() } });
    const token: string = register.body.data.token;
    const sql = await sqlConnection(world.dbName);
    await sql.query("ALTER TABLE app_users MODIFY nickname VARCHAR(2) NOT NULL DEFAULT ''"); // the UPDATE fails, its parameters in hand
    try {
      const res = await call('fail-0001', 'PATCH', '/me', { token, body: { nickname: 'secret-nick-42' } });
      expect([res.status, res.body.code, res.body.requestId]).toEqual([500, 100005, 'fail-0001']);
    } finally {
      await sql.query("ALTER TABLE app_users MODIFY nickname VARCHAR(32) NOT NULL DEFAULT ''");
      await sql.end();
    }
    const failed = await completed('fail-0001');
    expect(failed.some((l) => l.level >= 50)).toBe(true);
    expect(JSON.stringify(failed)).not.toContain('secret-nick-42');
    expect(JSON.stringify(failed)).not.toContain('$argon2');
  });

  it('writes one JSON object per line, with level, time and message', () => {
    expect(lines().length).toBeGreaterThan(0);
    for (const line of lines()) expect(line).toEqual(expect.objectContaining({ level: expect.any(Number), time: expect.any(Number), msg: expect.any(String) }));
  });

  it('carries the request id on every line of a request, its own lines and the request log, and leaves out passwords and tokens', async () => {
    const phone = uniquePhone();
    const register = await call('reg-0001', 'POST', '/auth/register', { body: { phone, password: PASSWORD, identifier: uniqueIdentifier() } });
    expect(register.status).toBe(201);
    const token: string = register.body.data.token;

    expect((await call('me-0001', 'GET', '/me', { token })).status).toBe(200);
    const admin = await staffLogin(api, world.admin.phone, world.admin.password);
    expect((await call('clear-0001', 'DELETE', `/admin/cache/phone/${phone}`, { token: admin })).status).toBe(200);

    const reg = await completed('reg-0001');
    expect(reg.find((l) => l.res)).toEqual(
      expect.objectContaining({
        requestId: 'reg-0001',
        req: expect.objectContaining({ method: 'POST', url: '/auth/register' }),
        res: { statusCode: 201 },
        responseTime: expect.any(Number),
      }),
    );
    const me = await completed('me-0001');
    expect(me.find((l) => l.res)?.req.headers).toBeUndefined();

    // A line the service itself writes inside a request (who cleared what) carries that request's id.
    const clear = await completed('clear-0001');
    expect(clear).toContainEqual(
      expect.objectContaining({ requestId: 'clear-0001', context: 'AdminCache', msg: expect.stringContaining(`cleared the cache of phone ${phone}`) }),
    );
    for (const [id, group] of [
      ['reg-0001', reg],
      ['me-0001', me],
      ['clear-0001', clear],
    ] as const) {
      expect(group.length).toBeGreaterThan(0);
      for (const line of group) expect(line.requestId).toBe(id);
    }

    const all = raw.join('');
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(token);
    expect(all).not.toContain(admin);
    expect(all).not.toContain(world.admin.password);
  });

  it('logs every cache action with who, what and how many keys (CONTRACT section 6)', async () => {
    const phone = uniquePhone();
    await world.redis.set(`cache:appUsers:phone:${phone}`, '*');
    const admin = await staffLogin(api, world.admin.phone, world.admin.password);
    await call('act-0001', 'DELETE', `/admin/cache/phone/${phone}`, { token: admin });
    await call('act-0002', 'DELETE', '/admin/cache?scope=devices', { token: admin });
    await call('act-0003', 'GET', '/admin/cache/keys', { token: admin });
    const actions = [];
    for (const id of ['act-0001', 'act-0002', 'act-0003']) actions.push(...(await completed(id)).filter((l) => l.context === 'AdminCache'));
    expect(actions.map((l) => l.msg)).toEqual([
      expect.stringMatching(new RegExp(`^staff #\\d+ ${world.admin.phone} \\(admin\\) cleared the cache of phone ${phone}: 1 key\\(s\\) deleted$`)),
      expect.stringMatching(/cleared cache scope devices in \d+ ms: \d+ key\(s\) deleted$/),
      expect.stringMatching(/listed cache keys of scope all from cursor 0: 0 key\(s\) deleted$/),
    ]);
    expect(actions[0]).toEqual(expect.objectContaining({ staffId: expect.any(Number), keysDeleted: 1 }));
  });

  it('writes one line per ended session with its reason and who ended it, never the token', async () => {
    const first = await call('reg-0003', 'POST', '/auth/register', { body: { phone: uniquePhone(), password: PASSWORD, identifier: uniqueIdentifier() } });
    const { token, userId } = first.body.data;
    const identifier = uniqueIdentifier();
    const me = await call('dev-0003', 'POST', '/auth/device', { body: { identifier } });
    expect((await call('logout-0003', 'POST', '/auth/logout', { token: me.body.data.token })).status).toBe(200);
    const admin = await staffLogin(api, world.admin.phone, world.admin.password);
    expect((await call('disable-0003', 'PATCH', `/admin/app-users/${userId}`, { token: admin, body: { status: 2 } })).status).toBe(200);
    await completed('disable-0003');
    const ends = lines().filter((l) => l.context === 'Sessions');
    expect(ends).toContainEqual(
      expect.objectContaining({ reason: 'logout', userId: me.body.data.userId, identifier, by: `user ${me.body.data.userId} (device ${identifier})` }),
    );
    expect(ends).toContainEqual(
      expect.objectContaining({
        reason: 'disabled',
        userId,
        by: expect.stringMatching(new RegExp(`^staff #\\d+ ${world.admin.phone} \\(admin\\)$`)),
        msg: expect.stringMatching(/ended: disabled, by staff #/),
      }),
    );
    expect(JSON.stringify(ends)).not.toContain(token);
    expect(JSON.stringify(ends)).not.toContain(me.body.data.token);
  });

  it('never logs an email verification code', async () => {
    const login = await call('dev-0001', 'POST', '/auth/device', { body: { identifier: uniqueIdentifier() } });
    const email = uniqueEmail();
    expect((await call('code-0001', 'POST', '/me/email/code', { token: login.body.data.token, body: { email } })).status).toBe(200);
    await completed('code-0001');
    const code = await emailCodeOf(world.redis, email, login.body.data.userId);
    expect(code).toMatch(/\d{6}/);
    // As a number of its own: the log is full of longer numbers (times, ids) that may contain it.
    expect(raw.join('')).not.toMatch(new RegExp(`(?<!\\d)${/\d{6}/.exec(code!)![0]}(?!\\d)`));
  });

  it('redacts credentials at the paths where a logged object carries them', async () => {
    const { REDACTED_PATHS } = await import('../../src/common/logging');
    const pino = (await import('pino')).default;
    const out: string[] = [];
    const logger = pino({ redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, { write: (s: string) => void out.push(s) });
    logger.info({ req: { headers: { authorization: 'Bearer abc', cookie: 'c=1' } }, body: { password: 'p4ssw0rd!', code: '123456' }, token: 'tkn' }, 'x');
    const line = JSON.parse(out[0]);
    expect(line.req.headers).toEqual({ authorization: '[redacted]', cookie: '[redacted]' });
    expect(line.body).toEqual({ password: '[redacted]', code: '[redacted]' });
    expect(line.token).toBe('[redacted]');
  });
});
