import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { request } from 'http';
import { io } from 'socket.io-client';
import { PasswordHasher } from '../../src/session/password-hasher';
import { PASSWORD, uniqueEmail, uniqueIdentifier, uniquePhone } from '../support/builders';
import { connectDevice, refusal, within } from '../support/device-socket';
import { deviceLogin, emailCodeOf, registerUser } from '../support/flows';
import { Api } from '../support/http';
import { TestWorld } from '../support/test-app';

/** A request with the headers a client (or a proxy in front of us) sends. */
async function send(url: string, method: string, path: string, options: { headers?: Record<string, string>; body?: string } = {}) {
  const res = await fetch(`${url}${path}`, { method, headers: options.headers, body: options.body });
  const text = await res.text();
  let body: { code: number; msg: string; data?: any };
  try {
    body = JSON.parse(text);
  } catch {
    body = { code: -1, msg: text };
  }
  return { status: res.status, body, retryAfter: res.headers.get('retry-after'), size: text.length };
}

const json = (body: unknown, from?: string) => ({
  headers: { 'content-type': 'application/json', ...(from ? { 'x-forwarded-for': from } : {}) },
  body: JSON.stringify(body),
});

/** CONTRACT sections 2, 5 and 8 against a determined client (issue 10). */
describe('limits that hold under concurrency and behind proxies', () => {
  let world: TestWorld;
  let app: NestFastifyApplication;
  let url: string;
  let api: Api;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ app, api, url } = await world.start({ TRUST_PROXY: 'loopback', LOGIN_FAILURES_PER_PHONE: '5', LOGIN_FAILURES_PER_PHONE_ALL_ADDRESSES: '12' }));
  });
  afterAll(() => world.close());

  const login = (phone: string | undefined, password: string, from: string) =>
    send(url, 'POST', '/auth/login', json({ phone, password, identifier: uniqueIdentifier() }, from));

  it('a 50-request concurrent burst of wrong passwords for one phone gets at most the limit evaluated', async () => {
    const { phone } = await registerUser(api);
    const verify = jest.spyOn(app.get(PasswordHasher), 'verify');
    try {
      const results = await Promise.all([...Array(50)].map(() => login(phone, 'wrong-password', '10.1.0.1')));
      expect(results.filter((r) => r.body.code === 20003)).toHaveLength(5);
      const limited = results.filter((r) => r.status === 429);
      expect(limited).toHaveLength(45);
      expect(limited.every((r) => r.body.code === 100006 && Number(r.retryAfter) > 0)).toBe(true);
      expect(verify).toHaveBeenCalledTimes(5);
    } finally {
      verify.mockRestore();
    }
    expect((await login(phone, PASSWORD, '10.1.0.1')).status).toBe(429); // the right password too, from there
  });

  it('five strangers cannot lock the owner out: failures count per phone and client address', async () => {
    const { phone } = await registerUser(api);
    for (let i = 0; i < 5; i += 1) expect((await login(phone, 'wrong-password', '10.2.0.1')).body.code).toBe(20003);
    expect((await login(phone, 'wrong-password', '10.2.0.1')).status).toBe(429);
    expect((await login(phone, PASSWORD, '10.2.0.2')).status).toBe(200);
    // Successful logins do not count.
    for (let i = 0; i < 6; i += 1) expect((await login(phone, PASSWORD, '10.2.0.3')).status).toBe(200);
  });

  it('a guesser spread over many addresses is stopped by the ceiling per phone', async () => {
    const { phone } = await registerUser(api);
    for (let i = 0; i < 12; i += 1) expect((await login(phone, 'wrong-password', `10.3.0.${i + 1}`)).body.code).toBe(20003);
    const stopped = await login(phone, 'wrong-password', '10.3.1.1');
    expect([stopped.status, stopped.body.code]).toEqual([429, 100006]);
    expect(Number(stopped.retryAfter)).toBeGreaterThan(0);
  });

  it('one per-address budget across every rate-limited route, with Retry-After; another address has its own', async () => {
    const { url: limitedUrl } = await world.start({ TRUST_PROXY: 'true', AUTH_RATE_LIMIT_PER_MINUTE: '5' });
    const from = '10.4.0.1';
    const statuses = [
      (await send(limitedUrl, 'POST', '/auth/device', json({ identifier: uniqueIdentifier() }, from))).status,
      (await send(limitedUrl, 'POST', '/auth/device', json({ identifier: uniqueIdentifier() }, from))).status,
      (await send(limitedUrl, 'POST', '/auth/login', json({ phone: uniquePhone(), password: 'x', identifier: 'i-1' }, from))).status,
      (await send(limitedUrl, 'POST', '/oa/auth/login', json({ phone: uniquePhone(), password: 'x' }, from))).status,
      (await send(limitedUrl, 'POST', '/auth/register', json({ phone: uniquePhone(), password: PASSWORD, identifier: uniqueIdentifier() }, from))).status,
    ];
    expect(statuses).not.toContain(429);
    const sixth = await send(limitedUrl, 'POST', '/oa/auth/login', json({ phone: uniquePhone(), password: 'x' }, from));
    expect([sixth.status, sixth.body.code]).toEqual([429, 100006]);
    expect(Number(sixth.retryAfter)).toBeGreaterThan(0);
    expect((await send(limitedUrl, 'POST', '/auth/device', json({ identifier: uniqueIdentifier() }, '10.4.0.2'))).status).toBe(200);
  });

  it('without TRUST_PROXY a forged X-Forwarded-For changes nothing: the TCP peer is the client', async () => {
    const { url: direct, api: directApi } = await world.start({ LOGIN_FAILURES_PER_PHONE: '3' });
    const phone = (await registerUser(directApi)).phone!;
    for (let i = 0; i < 3; i += 1) {
      const res = await send(direct, 'POST', '/auth/login', json({ phone, password: 'wrong-password', identifier: 'i-1' }, `10.5.0.${i}`));
      expect(res.body.code).toBe(20003);
    }
    const forged = await send(direct, 'POST', '/auth/login', json({ phone, password: PASSWORD, identifier: 'i-1' }, '10.5.9.9'));
    expect([forged.status, forged.body.code]).toEqual([429, 100006]);
  });

  describe('email codes', () => {
    it('a code belongs to the user who asked: another user can neither use it nor replace it', async () => {
      const a = await deviceLogin(api);
      const b = await deviceLogin(api);
      const email = uniqueEmail();
      await api.post('/me/email/code', { email }, a.token);
      const code = await emailCodeOf(world.redis, email, a.userId);
      expect((await api.post('/me/email/bind', { email, code }, b.token)).body.code).toBe(20007);
      const { api: noCooldown } = await world.start({ EMAIL_CODE_COOLDOWN_SECONDS: '0' });
      expect((await noCooldown.post('/me/email/code', { email }, b.token)).status).toBe(200);
      expect((await api.post('/me/email/bind', { email, code }, a.token)).body.data).toMatchObject({ email, userId: a.userId });
    });

    it('bind attempts are limited per user and per client address, counted before the code is checked', async () => {
      const { api: limited, url: limitedUrl } = await world.start({ TRUST_PROXY: 'true', EMAIL_BIND_ATTEMPTS_PER_HOUR: '3' });
      const user = await deviceLogin(limited);
      const bind = (token: string, from: string) =>
        send(limitedUrl, 'POST', '/me/email/bind', {
          headers: { ...json({}).headers, authorization: `Bearer ${token}`, 'x-forwarded-for': from },
          body: JSON.stringify({ email: uniqueEmail(), code: '123456' }),
        });
      const burst = await Promise.all([...Array(8)].map(() => bind(user.token, '10.6.0.1')));
      expect(burst.filter((r) => r.body.code === 20007)).toHaveLength(3);
      expect(burst.filter((r) => r.status === 429 && Number(r.retryAfter) > 0)).toHaveLength(5);
      const other = await deviceLogin(limited);
      for (let i = 0; i < 3; i += 1) expect((await bind(other.token, '10.6.0.2')).body.code).toBe(20007);
      const third = await deviceLogin(limited);
      expect((await bind(third.token, '10.6.0.2')).status).toBe(429); // that address has used its budget
      expect((await bind(third.token, '10.6.0.3')).body.code).toBe(20007); // the user has not
    });

    it('a second code within the cooldown is 429 with Retry-After', async () => {
      const { api: cooled, url: cooledUrl } = await world.start({ EMAIL_CODE_COOLDOWN_SECONDS: '60' });
      const user = await deviceLogin(cooled);
      const email = uniqueEmail();
      expect((await cooled.post('/me/email/code', { email }, user.token)).status).toBe(200);
      const again = await send(cooledUrl, 'POST', '/me/email/code', {
        headers: { ...json({}).headers, authorization: `Bearer ${user.token}` },
        body: JSON.stringify({ email }),
      });
      expect([again.status, again.body.code]).toEqual([429, 100006]);
      expect(Number(again.retryAfter)).toBeGreaterThan(50);
    });
  });

  describe('bodies', () => {
    it.each([
      ['a form', 'application/x-www-form-urlencoded', 'identifier=abc'],
      ['plain text', 'text/plain', '{"identifier":"abc"}'],
      ['multipart', 'multipart/form-data; boundary=x', '--x\r\n\r\nabc\r\n--x--'],
    ])('%s is refused with 415 / 100009 before anything runs', async (_, type, body) => {
      const res = await send(url, 'POST', '/auth/device', { headers: { 'content-type': type }, body });
      expect([res.status, res.body.code]).toEqual([415, 100009]);
    });

    it('a body nested 3,000 deep answers 400 at once, and the server stays fast for everyone', async () => {
      const deep = `{"identifier":"x","name":${'['.repeat(3000)}${']'.repeat(3000)}}`;
      const started = Date.now();
      const [res, live] = await Promise.all([
        send(url, 'POST', '/auth/device', { headers: { 'content-type': 'application/json' }, body: deep }),
        send(url, 'GET', '/health/live'),
      ]);
      expect(Date.now() - started).toBeLessThan(100);
      expect([res.status, res.body.code]).toEqual([400, 100002]);
      expect(res.body.msg).toContain('deeper than 32 levels');
      expect(live.status).toBe(200);
      const within32 = `{"identifier":"x","name":${'['.repeat(31)}${']'.repeat(31)}}`;
      expect((await send(url, 'POST', '/auth/device', { headers: { 'content-type': 'application/json' }, body: within32 })).body.msg).toMatch(/^name: /);
    });

    it('6,000 unknown keys give one short error that lists at most 20 messages', async () => {
      const body = Object.fromEntries([...Array(6000)].map((_, i) => [`k${i}`, 1]));
      const res = await send(url, 'POST', '/auth/device', json({ identifier: uniqueIdentifier(), ...body }));
      expect([res.status, res.body.code]).toEqual([400, 100002]);
      expect(res.body.msg.split('; ')).toHaveLength(21);
      expect(res.body.msg).toMatch(/; and 5980 more$/);
      expect(res.size).toBeLessThan(4000);
    });

    it('headers too large and a SCAN cursor past 64 bits answer in the envelope', async () => {
      const huge = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`${url}/health/live`, { headers: { 'x-big': 'y'.repeat(20_000) } }, (res) => {
          let body = '';
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
      expect(huge.status).toBe(431);
      expect(JSON.parse(huge.body)).toEqual({ code: 100002, msg: 'request headers too large' });
      const admin = (await api.post('/oa/auth/login', { phone: world.admin.phone, password: world.admin.password })).body.data.token;
      // On a Redis Cluster a cursor also names the master it walks: <master>-<SCAN cursor>.
      const master = world.onCluster ? '0-' : '';
      const res = await api.get(`/admin/cache/keys?cursor=${master}18446744073709551616`, admin);
      expect([res.status, res.body.code]).toEqual([400, 100002]);
      expect((await api.get(`/admin/cache/keys?cursor=${master}18446744073709551615`, admin)).status).toBe(200);
    });
  });

  describe('sockets', () => {
    it('only /devices accepts connections', async () => {
      const user = await deviceLogin(api);
      const main = await new Promise<{ message: string; code?: number }>((resolve) => {
        const socket = io(url, { auth: { token: user.token }, transports: ['websocket'], reconnection: false, forceNew: true });
        socket.once('connect', () => (socket.close(), resolve({ message: 'connected' })));
        socket.once('connect_error', (err: Error & { data?: { code?: number } }) => (socket.close(), resolve({ message: err.message, code: err.data?.code })));
      });
      expect(main.message).toMatch(/unknown namespace/);
      const other = await new Promise<string>((resolve) => {
        const socket = io(`${url}/admin`, { auth: { token: user.token }, transports: ['websocket'], reconnection: false, forceNew: true });
        socket.once('connect', () => (socket.close(), resolve('connected')));
        socket.once('connect_error', (err) => (socket.close(), resolve(err.message)));
      });
      expect(other).toBe('Invalid namespace');
    });

    it('at most SOCKET_MAX_PER_SESSION sockets per session; a closed one frees its place', async () => {
      const user = await deviceLogin(api);
      const open = [await connectDevice(url, user.token), await connectDevice(url, user.token), await connectDevice(url, user.token)];
      expect(await refusal(url, user.token)).toEqual({ message: 'too many connections', code: 100006 });
      open[0].close();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const again = await connectDevice(url, user.token);
      for (const conn of [...open, again]) conn.close();
    });

    it('a socket flooding events is told (error 100006) and disconnected; everyone else is served meanwhile', async () => {
      const user = await deviceLogin(api);
      const flooder = await connectDevice(url, user.token);
      const told = new Promise<{ code: number }>((resolve) => flooder.socket.on('error', resolve));
      for (let i = 0; i < 50_000; i += 1) flooder.socket.emit('ping', i);
      const started = Date.now();
      expect((await send(url, 'GET', '/health/live')).status).toBe(200);
      expect(Date.now() - started).toBeLessThan(1000);
      expect((await within(told, 5000, 'error')).code).toBe(100006);
      await within(flooder.closed, 5000, 'disconnect');
      const calm = await connectDevice(url, user.token);
      calm.socket.emit('ping', 1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(calm.socket.connected).toBe(true);
      calm.close();
    });
  });
});
