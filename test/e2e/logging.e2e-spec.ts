import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { connect, createServer, Server, Socket } from 'net';
import { createApp } from '../../src/app.factory';
import { sessionIdOf } from '../../src/session/token';
import { PASSWORD, uniqueEmail, uniqueIdentifier, uniquePhone } from '../support/builders';
import { createOperator, emailCodeOf, phoneLogin, staffLogin } from '../support/flows';
import { Api } from '../support/http';
import { OwnRedis, startRedisServer } from '../support/redis-server';
import { freePort } from '../support/spawned-server';
import { TestWorld } from '../support/test-app';
import { sqlConnection, TEST_DB } from '../support/test-database';
import { clusterOfThisWorker } from '../support/test-redis';
import { eventually } from '../support/wait';

type Line = Record<string, any>;

/** The log of one app: every line as written, parsed (a line that is not JSON fails the test that reads it). */
class LogCapture {
  readonly raw: string[] = [];
  readonly destination = { write: (chunk: string) => void this.raw.push(chunk) };

  lines(): Line[] {
    return this.raw
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  }

  of(context: string): Line[] {
    return this.lines().filter((l) => l.context === context);
  }

  /** Lines of `context` as soon as `accept` holds for them. */
  until(context: string, accept: (lines: Line[]) => boolean, timeoutMs = 10_000): Promise<Line[]> {
    return eventually(`log lines of ${context}`, async () => this.of(context), accept, timeoutMs);
  }
}

const prefixOf = (token: string) => sessionIdOf(token).slice(0, 12);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('structured JSON logs', () => {
  let world: TestWorld;
  let url: string;
  let api: Api;
  const log = new LogCapture();
  const raw = log.raw;
  const lines = () => log.lines();
  const ofRequest = (id: string) => lines().filter((l) => l.requestId === id || l.req?.id === id);

  const call = async (id: string, method: string, path: string, options: { token?: string; body?: unknown } = {}) => {
    const headers: Record<string, string> = { 'x-request-id': id };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${url}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
    expect(res.headers.get('x-request-id')).toBe(id);
    return { status: res.status, body: (await res.json()) as any };
  };

  /** pino writes asynchronously after the reply: wait for the request's completion line. */
  const completed = async (id: string): Promise<Line[]> => {
    for (let i = 0; i < 50 && !ofRequest(id).some((l) => l.res); i += 1) await pause(20);
    return ofRequest(id);
  };

  beforeAll(async () => {
    world = await TestWorld.create();
    const app = await createApp(world.config({ LOG_LEVEL: 'info', MAX_DEVICES_PER_USER: '3' }), { logDestination: log.destination });
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

  it('echoes x-request-id on every answer, the framework refusals, 404s, health and metrics included, and logs them under it', async () => {
    const send = (id: string, path: string, init: RequestInit = {}) =>
      fetch(`${url}${path}`, { ...init, headers: { 'x-request-id': id, ...(init.headers as Record<string, string>) } }).then(
        async (res): Promise<[number, string]> => {
          await res.arrayBuffer();
          return [res.status, res.headers.get('x-request-id') ?? '(none)'];
        },
      );
    const json = { 'content-type': 'application/json' };
    expect(await send('rid-404', '/no/such/route')).toEqual([404, 'rid-404']);
    expect(await send('rid-json', '/auth/device', { method: 'POST', headers: json, body: '{"identifier":' })).toEqual([400, 'rid-json']);
    expect(await send('rid-415', '/auth/device', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' })).toEqual([415, 'rid-415']);
    expect(await send('rid-413', '/auth/device', { method: 'POST', headers: json, body: JSON.stringify({ identifier: 'x'.repeat(70_000) }) })).toEqual([
      413,
      'rid-413',
    ]);
    expect(await send('rid-url', '/me/devices/%E0%A4%A')).toEqual([400, 'rid-url']);
    expect(await send('rid-401', '/me')).toEqual([401, 'rid-401']);
    expect(await send('rid-ready', '/health')).toEqual([200, 'rid-ready']);
    expect(await send('rid-live', '/health/live')).toEqual([200, 'rid-live']);
    expect(await send('rid-metrics', '/metrics')).toEqual([200, 'rid-metrics']);
    // Socket.IO's own HTTP answers, which Fastify never sees: the long-polling handshake.
    expect(await send('rid-socket', '/socket.io/?EIO=4&transport=polling')).toEqual([200, 'rid-socket']);
    // No usable id of the client's: one of the server's own, as the log writes it.
    const [, generated] = await send('not an id!', '/no/such/route');
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    for (const [id, status, code] of [
      ['rid-404', 404, 100008],
      ['rid-json', 400, 100002],
      ['rid-415', 415, 100009],
      ['rid-413', 413, 100002],
      ['rid-url', 400, 100002],
      [generated, 404, 100008],
    ] as const) {
      expect((await completed(id)).find((l) => l.res)).toEqual(expect.objectContaining({ requestId: id, res: { statusCode: status }, code }));
    }
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

  describe('one line per ended session: reason, session id prefix, device, user and actor, never the token', () => {
    /** The one line of the session of `token`; fails when there is none or more than one. */
    const endOf = (token: string): Line => {
      const found = log.of('Sessions').filter((l) => l.sessionId === prefixOf(token));
      expect(found).toHaveLength(1);
      return found[0];
    };
    const expectEnded = (token: string, fields: { reason: string; identifier: string; userId: number; actor: string | RegExp }) => {
      const line = endOf(token);
      const actor = typeof fields.actor === 'string' ? fields.actor : expect.stringMatching(fields.actor);
      expect(line).toEqual(
        expect.objectContaining({
          level: 30,
          sessionId: prefixOf(token),
          reason: fields.reason,
          identifier: fields.identifier,
          userId: fields.userId,
          actor,
          msg: `session ${prefixOf(token)} of device ${fields.identifier} (user ${fields.userId}) ended: ${fields.reason}, by ${line.actor}`,
        }),
      );
      expect(JSON.stringify(line)).not.toContain(token);
    };
    const staffActor = () => new RegExp(`^staff #\\d+ ${world.admin.phone} \\(admin\\)$`);
    const ok = async <T extends { status: number; body: any }>(answer: Promise<T>, status = 200): Promise<T> => {
      const res = await answer;
      expect([res.status, res.body.code]).toEqual([status, 200]);
      return res;
    };

    it('logout, and a disable by staff', async () => {
      const registeredOn = uniqueIdentifier();
      const first = await call('reg-0003', 'POST', '/auth/register', { body: { phone: uniquePhone(), password: PASSWORD, identifier: registeredOn } });
      const { token, userId } = first.body.data;
      const identifier = uniqueIdentifier();
      const me = await call('dev-0003', 'POST', '/auth/device', { body: { identifier } });
      expect((await call('logout-0003', 'POST', '/auth/logout', { token: me.body.data.token })).status).toBe(200);
      expectEnded(me.body.data.token, {
        reason: 'logout',
        identifier,
        userId: me.body.data.userId,
        actor: `user ${me.body.data.userId} (device ${identifier})`,
      });
      const admin = await staffLogin(api, world.admin.phone, world.admin.password);
      expect((await call('disable-0003', 'PATCH', `/admin/app-users/${userId}`, { token: admin, body: { status: 2 } })).status).toBe(200);
      expectEnded(token, { reason: 'disabled', identifier: registeredOn, userId, actor: staffActor() });
    });

    it('a replaced login, a sign-out, an unbind, an overflow, a password change, a staff sign-out and a delete', async () => {
      const phone = uniquePhone();
      const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((label) => uniqueIdentifier(label));
      const registered = await ok(api.post('/auth/register', { phone, password: PASSWORD, identifier: a }), 201);
      const userId: number = registered.body.data.userId;
      const tA1: string = registered.body.data.token;
      const tB1: string = (await ok(phoneLogin(api, phone, b))).body.data.token;
      const tC1: string = (await ok(phoneLogin(api, phone, c))).body.data.token;

      const tA2: string = (await ok(phoneLogin(api, phone, a))).body.data.token;
      expectEnded(tA1, { reason: 'replaced', identifier: a, userId, actor: `login of device ${a}` });

      await ok(api.post(`/me/devices/${b}/sign-out`, {}, tA2));
      expectEnded(tB1, { reason: 'signed_out', identifier: b, userId, actor: `user ${userId} (device ${a})` });

      await ok(api.delete(`/me/devices/${c}`, tA2));
      expectEnded(tC1, { reason: 'unbound', identifier: c, userId, actor: `user ${userId} (device ${a})` });

      // MAX_DEVICES_PER_USER=3: the fourth signed-in device pushes out the least recently active, A.
      const tB2: string = (await ok(phoneLogin(api, phone, b))).body.data.token;
      const tC2: string = (await ok(phoneLogin(api, phone, c))).body.data.token;
      const tD: string = (await ok(phoneLogin(api, phone, d))).body.data.token;
      expectEnded(tA2, { reason: 'overflow', identifier: a, userId, actor: `login of device ${d}` });

      await ok(api.put('/me/password', { currentPassword: PASSWORD, newPassword: 'another-horse-7' }, tD));
      for (const [token, identifier] of [
        [tB2, b],
        [tC2, c],
      ]) {
        expectEnded(token, { reason: 'password_changed', identifier, userId, actor: `password change by user ${userId} (device ${d})` });
      }

      const admin = await staffLogin(api, world.admin.phone, world.admin.password);
      await ok(api.post(`/admin/app-users/${userId}/devices/${d}/sign-out`, {}, admin));
      expectEnded(tD, { reason: 'kicked', identifier: d, userId, actor: staffActor() });

      const e = uniqueIdentifier('e');
      const other = await ok(api.post('/auth/register', { phone: uniquePhone(), password: PASSWORD, identifier: e }), 201);
      await ok(api.delete(`/admin/app-users/${other.body.data.userId}`, admin));
      expectEnded(other.body.data.token, { reason: 'deleted', identifier: e, userId: other.body.data.userId, actor: staffActor() });
    });

    it('a migration by an email binding', async () => {
      const email = uniqueEmail();
      const owner = await ok(api.post('/auth/register', { phone: uniquePhone(), password: PASSWORD, identifier: uniqueIdentifier() }), 201);
      await ok(api.post('/me/email/code', { email }, owner.body.data.token));
      await ok(api.post('/me/email/bind', { email, code: await emailCodeOf(world.redis, email, owner.body.data.userId) }, owner.body.data.token));
      const identifier = uniqueIdentifier('g');
      const guest = await ok(api.post('/auth/device', { identifier }));
      const { token, userId } = guest.body.data;
      await ok(api.post('/me/email/code', { email }, token));
      const bound = await ok(api.post('/me/email/bind', { email, code: await emailCodeOf(world.redis, email, userId) }, token));
      expect(bound.body.data).toEqual(expect.objectContaining({ migrated: true, userId: owner.body.data.userId }));
      expectEnded(token, { reason: 'migrated', identifier, userId, actor: `email binding of user ${userId} (device ${identifier})` });
    });

    it('staff sessions: a logout, a password set by an admin and a disable, one line per live session', async () => {
      const admin = await staffLogin(api, world.admin.phone, world.admin.password);
      const operator = await createOperator(api, admin);
      const staffId: number = (await api.get('/oa/me', operator.token)).body.data.id;
      const staffLine = (token: string) => log.of('Sessions').filter((l) => l.sessionId === prefixOf(token));
      const expectStaffEnded = (token: string, reason: string, actor: RegExp) =>
        expect(staffLine(token)).toEqual([
          expect.objectContaining({
            level: 30,
            staffId,
            reason,
            actor: expect.stringMatching(actor),
            msg: expect.stringMatching(new RegExp(`^staff session ${prefixOf(token)} \\(staff #${staffId}\\) ended: ${reason}, by staff #`)),
          }),
        ]);

      await ok(api.post('/oa/auth/logout', {}, operator.token));
      expectStaffEnded(operator.token, 'logout', new RegExp(`^staff #${staffId} ${operator.phone} \\(operator\\)$`));
      // A second logout of the same token is refused before it reaches the session: no second line.
      expect((await api.post('/oa/auth/logout', {}, operator.token)).status).toBe(401);

      const [t1, t2] = [await staffLogin(api, operator.phone, PASSWORD), await staffLogin(api, operator.phone, PASSWORD)];
      await ok(api.patch(`/admin/oa-users/${staffId}`, { password: 'another-horse-7' }, admin));
      for (const token of [t1, t2]) expectStaffEnded(token, 'password_changed', staffActor());

      const t3 = await staffLogin(api, operator.phone, 'another-horse-7');
      await ok(api.patch(`/admin/oa-users/${staffId}`, { status: 2 }, admin));
      expectStaffEnded(t3, 'disabled', staffActor());
      for (const token of [operator.token, t1, t2]) expect(staffLine(token)).toHaveLength(1);
      expect(JSON.stringify(log.of('Sessions'))).not.toContain(t3);
    });
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

  // Last: Nest's Logger is one per process, so the service lines of every app in this file go to
  // the app created last from here on.
  it('change capture: one line per change of role of each process, none per wait for the lock', async () => {
    const cdc = world.config({ LOG_LEVEL: 'info', CDC_MODE: 'binlog', CDC_HEARTBEAT_SECONDS: '1' });
    const first = new LogCapture();
    const second = new LogCapture();
    // Both apps' service lines, in the order they were written (after the second app is created its
    // captures take the first's lines too: one Nest Logger per process).
    const roles = () => [...first.of('ChangeCapture'), ...second.of('ChangeCapture')].filter((l) => l.role !== undefined).sort((a, b) => a.time - b.time);
    const open = new Set<NestFastifyApplication>();
    const start = async (capture: LogCapture) => {
      const app = await createApp(cdc, { logDestination: capture.destination });
      open.add(app);
      await app.init();
      return app;
    };
    const close = async (app: NestFastifyApplication) => {
      open.delete(app);
      await app.close();
    };
    const until = (accept: (seen: string[]) => boolean) => eventually('change capture roles', async () => roles().map((l) => l.role), accept, 10_000);
    try {
      const leader = await start(first);
      await until((seen) => seen.includes('leader'));
      const standby = await start(second);
      await until((seen) => seen.includes('standby'));
      await pause(2500); // the standby waits for the lock again and again: still one line
      await close(leader);
      await until((seen) => seen.filter((role) => role === 'leader').length === 2);
      await close(standby);
    } finally {
      for (const app of open) await app.close().catch(() => undefined);
    }
    const lock = `hi-server:cdc:${world.dbName}`;
    expect(roles()).toEqual([
      expect.objectContaining({ level: 30, role: 'leader', lock, msg: `this process is the change capture leader (lock ${lock})` }),
      expect.objectContaining({ level: 30, role: 'standby', lock, msg: `change capture standby: another process holds the leader lock ${lock}` }),
      expect.objectContaining({ level: 30, role: 'stopped', was: 'leader', lock, msg: `change capture stopped (was leader): releasing lock ${lock}` }),
      expect.objectContaining({ level: 30, role: 'leader', lock }),
      expect.objectContaining({ level: 30, role: 'stopped', was: 'leader', lock }),
    ]);
  });
});

/** A TCP relay to the machine's MariaDB that the test can cut (every connection dropped, new ones refused) and restore. */
class CuttableProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  private constructor(readonly port: number) {}

  static async start(): Promise<CuttableProxy> {
    const proxy = new CuttableProxy(await freePort());
    await proxy.restore();
    return proxy;
  }

  async restore(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = connect(TEST_DB.port, TEST_DB.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', () => resolve()));
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}

// A Redis and a MySQL path of the test's own to cut; on the cluster tier this would only repeat itself.
(clusterOfThisWorker() ? describe.skip : describe)('dependency state: one line when lost, one when regained, none per failed request', () => {
  let redis: OwnRedis;
  let proxy: CuttableProxy;
  let world: TestWorld;
  let api: Api;
  const log = new LogCapture();
  const state = (dependency: string) => log.lines().filter((l) => l.dependency === dependency);
  const accessLine = (id: string) => log.lines().find((l) => l.requestId === id && l.res);
  const get = (id: string, path: string, token: string) =>
    fetch(`${api.baseUrl}${path}`, { headers: { 'x-request-id': id, authorization: `Bearer ${token}` } }).then(async (res) => [
      res.status,
      ((await res.json()) as any).code,
    ]);

  beforeAll(async () => {
    redis = await startRedisServer();
    proxy = await CuttableProxy.start();
    world = await TestWorld.create({ redis });
    const app = await createApp(world.config({ LOG_LEVEL: 'info', DB_PORT: String(proxy.port) }), { logDestination: log.destination });
    await app.listen(0, '127.0.0.1');
    world.onClose(() => app.close());
    api = new Api((await app.getUrl()).replace('[::1]', '127.0.0.1'));
  });
  afterAll(async () => {
    await proxy?.restore().catch(() => undefined);
    await world?.close();
    await proxy?.cut();
    await redis?.destroy();
  });

  it('MySQL: connections the server kills while it accepts new ones are no outage', async () => {
    const root = await sqlConnection(world.dbName);
    try {
      const appConnections = async () =>
        (
          (await root.query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()', [world.dbName]))[0] as Array<{
            id: number;
          }>
        ).map((r) => r.id);
      const killed = await appConnections();
      expect(killed.length).toBeGreaterThanOrEqual(2); // the pool's and the probe's
      for (const id of killed) await root.query(`KILL ${id}`);
      // The probe notices its connection is gone and connects again, quietly.
      await eventually('a new connection of the app', appConnections, (ids) => ids.some((id) => !killed.includes(id)));
      await pause(1500);
      expect(state('mysql')).toEqual([]);
      expect((await api.post('/auth/register', { phone: uniquePhone(), password: PASSWORD, identifier: uniqueIdentifier() })).status).toBe(201);
    } finally {
      await root.end();
    }
  });

  it('MySQL cut off and back', async () => {
    await proxy.cut();
    const [lost] = await eventually(
      'the lost line',
      async () => state('mysql'),
      (l) => l.length > 0,
    );
    expect(lost).toEqual(
      expect.objectContaining({
        level: 50,
        context: 'MySQL',
        dependency: 'mysql',
        state: 'lost',
        target: `127.0.0.1:${proxy.port}/${world.dbName}`,
        cause: expect.stringContaining('ECONNREFUSED'),
        msg: expect.stringMatching(new RegExp(`^MySQL connection lost: 127\\.0\\.0\\.1:${proxy.port}/${world.dbName} \\(.*ECONNREFUSED`)),
      }),
    );
    const failed = [];
    for (const id of ['db-down-1', 'db-down-2', 'db-down-3']) {
      const res = await fetch(`${api.baseUrl}/auth/register`, {
        method: 'POST',
        headers: { 'x-request-id': id, 'content-type': 'application/json' },
        body: JSON.stringify({ phone: uniquePhone(), password: PASSWORD, identifier: uniqueIdentifier() }),
      });
      failed.push([res.status, ((await res.json()) as any).code]);
    }
    expect(failed).toEqual(Array(3).fill([500, 100005]));
    await pause(2500); // probes every second meanwhile: still one line
    await proxy.restore();
    const [, regained] = await eventually(
      'the regained line',
      async () => state('mysql'),
      (l) => l.length > 1,
    );
    expect(regained).toEqual(
      expect.objectContaining({
        level: 30,
        context: 'MySQL',
        state: 'regained',
        target: lost.target,
        downMs: expect.any(Number),
        msg: expect.stringMatching(/^MySQL connection regained: /),
      }),
    );
    expect(regained.downMs).toBeGreaterThanOrEqual(2500);
    expect(state('mysql')).toHaveLength(2);
    for (const id of ['db-down-1', 'db-down-2', 'db-down-3']) {
      expect(log.lines().filter((l) => l.requestId === id)).toEqual([
        expect.objectContaining({ res: { statusCode: 500 }, code: 100005, cause: expect.stringMatching(/^mysql: /) }),
      ]);
    }
    expect((await api.post('/auth/register', { phone: uniquePhone(), password: PASSWORD, identifier: uniqueIdentifier() })).status).toBe(201);
  });

  it('Redis stopped and started again', async () => {
    await redis.stop();
    const [lost] = await eventually(
      'the lost line',
      async () => state('redis'),
      (l) => l.length > 0,
    );
    expect(lost).toEqual(
      expect.objectContaining({
        level: 50,
        context: 'Redis',
        dependency: 'redis',
        state: 'lost',
        target: `127.0.0.1:${redis.port}/0`,
        cause: expect.any(String),
        msg: expect.stringMatching(new RegExp(`^Redis connection lost: 127\\.0\\.0\\.1:${redis.port}/0 \\(`)),
      }),
    );
    const answers = [];
    for (const id of ['redis-down-1', 'redis-down-2', 'redis-down-3']) answers.push(await get(id, '/me', 'not-a-live-token'));
    expect(answers).toEqual(Array(3).fill([503, 100007]));
    await pause(1500); // the client reconnects every few hundred ms meanwhile: still one line
    await redis.start();
    const [, regained] = await eventually(
      'the regained line',
      async () => state('redis'),
      (l) => l.length > 1,
    );
    expect(regained).toEqual(
      expect.objectContaining({
        level: 30,
        context: 'Redis',
        state: 'regained',
        target: lost.target,
        downMs: expect.any(Number),
        msg: expect.stringMatching(/^Redis connection regained: /),
      }),
    );
    expect(state('redis')).toHaveLength(2);
    for (const id of ['redis-down-1', 'redis-down-2', 'redis-down-3']) {
      expect(log.lines().filter((l) => l.requestId === id)).toEqual([
        expect.objectContaining({ res: { statusCode: 503 }, code: 100007, cause: expect.stringMatching(/^redis: /) }),
      ]);
    }
    expect(accessLine('redis-down-1')?.err).toBeUndefined();
    expect(await get('redis-up-1', '/me', 'not-a-live-token')).toEqual([401, 100003]);
  });
});
