import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SessionService } from '../../src/session/session.service';
import { SessionStore } from '../../src/session/session.store';
import { sessionIdOf } from '../../src/session/token';
import { PASSWORD, uniqueEmail, uniqueIdentifier, uniquePhone } from '../support/builders';
import { connectDevice, within } from '../support/device-socket';
import { deviceLogin, emailCodeOf, phoneLogin, registerUser, resetCodeOf, staffLogin } from '../support/flows';
import { Api } from '../support/http';
import { TestWorld } from '../support/test-app';
import { eventually } from '../support/wait';

const NEW_PASSWORD = 'battery-staple-7';

/** Session management (issue 14, CONTRACT section 3): devices, sign-outs, passwords, staff. */
describe('session management', () => {
  let world: TestWorld;
  let app: NestFastifyApplication;
  let api: Api;
  let url: string;
  let admin: string;
  let operator: string;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ app, api, url } = await world.start());
    admin = await staffLogin(api, world.admin.phone, world.admin.password);
    const operatorPhone = uniquePhone();
    await api.post('/admin/oa-users', { phone: operatorPhone, password: PASSWORD, name: 'op', role: 'operator' }, admin);
    operator = await staffLogin(api, operatorPhone, PASSWORD);
  });
  afterAll(() => world.close());

  /** An account with `count` signed-in devices: the first registered, the others phone logins. */
  async function account(count: number) {
    const first = await registerUser(api);
    const devices = [first];
    for (let i = 1; i < count; i += 1) {
      const identifier = uniqueIdentifier();
      const res = await phoneLogin(api, first.phone!, identifier);
      expect(res.status).toBe(200);
      devices.push({ ...res.body.data, identifier, phone: first.phone });
    }
    return devices;
  }

  async function bindEmail(token: string, userId: number, email = uniqueEmail()) {
    await api.post('/me/email/code', { email }, token);
    const bound = await api.post('/me/email/bind', { email, code: await emailCodeOf(world.redis, email, userId) }, token);
    expect(bound.status).toBe(200);
    return email;
  }

  describe('GET /me/devices', () => {
    it('shows each device with signedIn, signedInAt and lastActiveAt; a signed-out device stays listed', async () => {
      const before = Date.now();
      const [a, b] = await account(2);
      const list = await api.get('/me/devices', a.token);
      expect(list.status).toBe(200);
      const mine = list.body.data.find((d: any) => d.identifier === a.identifier);
      expect(mine).toEqual({
        identifier: a.identifier,
        name: '',
        platform: '',
        online: false,
        current: true,
        signedIn: true,
        signedInAt: expect.any(String),
        lastActiveAt: expect.any(String),
      });
      expect(Date.parse(mine.signedInAt)).toBeGreaterThanOrEqual(before - 5);
      expect(mine.lastActiveAt).toBe(mine.signedInAt);

      expect((await api.post(`/me/devices/${b.identifier}/sign-out`, {}, a.token)).status).toBe(200);
      const after = (await api.get('/me/devices', a.token)).body.data.find((d: any) => d.identifier === b.identifier);
      expect(after).toMatchObject({ identifier: b.identifier, current: false, signedIn: false, signedInAt: null, lastActiveAt: null });
    });

    it('records use at most once a minute per session, whatever the request rate', async () => {
      const [a] = await account(1);
      const store = app.get(SessionStore);
      const sid = sessionIdOf(a.token);
      const rewrite = jest.spyOn(store, 'rewrite');
      try {
        await Promise.all(Array.from({ length: 30 }, () => api.get('/me', a.token)));
        expect(rewrite).not.toHaveBeenCalled(); // issued just now: its use is on record

        // Two minutes later, as far as the session knows.
        const raw = JSON.parse((await world.redis.get(world.keys.session(sid)))!);
        const earlier = Date.now() - 120_000;
        await world.redis.set(world.keys.session(sid), JSON.stringify({ ...raw, issuedAt: earlier, activeAt: earlier }), 'KEEPTTL');
        await Promise.all(Array.from({ length: 30 }, () => api.get('/me', a.token)));
        expect(rewrite).toHaveBeenCalledTimes(1);
      } finally {
        rewrite.mockRestore();
      }
      const mine = await eventually(
        'lastActiveAt moved',
        async () => (await api.get('/me/devices', a.token)).body.data.find((d: any) => d.current),
        (d) => Date.parse(d.lastActiveAt) > Date.parse(d.signedInAt) + 60_000,
      );
      expect(Date.now() - Date.parse(mine.lastActiveAt)).toBeLessThan(10_000);
    });
  });

  describe('signing devices out without unbinding them', () => {
    it("POST /me/devices/:identifier/sign-out ends that device's session: kicked signed_out, token 20107, device still bound", async () => {
      const [a, b] = await account(2);
      const socket = await connectDevice(url, b.token);
      const res = await api.post(`/me/devices/${b.identifier}/sign-out`, {}, a.token);
      expect([res.status, res.body]).toEqual([200, { code: 200, msg: 'OK', data: null }]);
      expect(await within(socket.kicked, 2000, 'kicked')).toBe('signed_out');
      expect((await api.get('/me', b.token)).body.code).toBe(20107);
      expect((await api.get('/me', a.token)).status).toBe(200);
      // Still the account's device: a phone login brings it back without its secret.
      const back = await phoneLogin(api, a.phone!, b.identifier);
      expect([back.status, back.body.data.userId]).toEqual([200, a.userId]);
    });

    it("404 for another account's device or an unknown one, and nothing ends", async () => {
      const [a] = await account(1);
      const stranger = await deviceLogin(api);
      for (const identifier of [stranger.identifier, uniqueIdentifier()]) {
        const res = await api.post(`/me/devices/${identifier}/sign-out`, {}, a.token);
        expect([res.status, res.body.code]).toEqual([404, 20006]);
      }
      expect((await api.get('/me', stranger.token)).status).toBe(200);
      expect((await api.post('/me/devices/bad*id/sign-out', {}, a.token)).body.code).toBe(100002);
    });

    it('POST /me/devices/sign-out-others ends every other device of the account and keeps the caller', async () => {
      const [a, b, c] = await account(3);
      const sockets = await Promise.all([b, c].map((d) => connectDevice(url, d.token)));
      const res = await api.post('/me/devices/sign-out-others', {}, a.token);
      expect([res.status, res.body.data]).toEqual([200, { signedOut: 2 }]);
      for (const socket of sockets) expect(await within(socket.kicked, 2000, 'kicked')).toBe('signed_out');
      expect((await api.get('/me', b.token)).body.code).toBe(20107);
      expect((await api.get('/me', c.token)).body.code).toBe(20107);
      expect((await api.get('/me', a.token)).status).toBe(200);
      expect((await api.post('/me/devices/sign-out-others', {}, a.token)).body.data).toEqual({ signedOut: 0 });
    });
  });

  describe('a device that was signed out stays out until the account lets it back in', () => {
    it('signed out, kicked by staff, or left behind by a new password: its secret no longer logs it in; a phone login does', async () => {
      const [a, b, c, d] = await account(4);
      expect((await api.post(`/me/devices/${b.identifier}/sign-out`, {}, a.token)).status).toBe(200);
      expect((await api.post(`/admin/app-users/${a.userId}/devices/${c.identifier}/sign-out`, {}, admin)).status).toBe(200);
      for (const device of [b, c]) {
        const again = await api.post('/auth/device', { identifier: device.identifier, deviceSecret: device.deviceSecret });
        expect([again.status, again.body.code, again.body.msg]).toEqual([401, 20013, expect.stringContaining('signed out')]);
      }
      expect((await api.put('/me/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, a.token)).status).toBe(200);
      const left = await api.post('/auth/device', { identifier: d.identifier, deviceSecret: d.deviceSecret });
      expect([left.status, left.body.code, left.body.msg]).toEqual([401, 20013, expect.stringContaining('password changed')]);
      // The device that changed the password keeps its secret; the others come back with the new password.
      expect((await api.post('/auth/device', { identifier: a.identifier, deviceSecret: a.deviceSecret })).status).toBe(200);
      const back = await phoneLogin(api, a.phone!, b.identifier, { password: NEW_PASSWORD });
      expect([back.status, back.body.data.userId]).toEqual([200, a.userId]);
      expect((await api.post('/auth/device', { identifier: b.identifier, deviceSecret: back.body.data.deviceSecret })).status).toBe(200);
    });

    it('a device login racing a sign-out leaves no session: it ends by its own check', async () => {
      const [a, b] = await account(2);
      const sessions = app.get(SessionService);
      const issue = sessions.issue.bind(sessions);
      const spy = jest.spyOn(sessions, 'issue').mockImplementationOnce(async (...args: Parameters<SessionService['issue']>) => {
        // The sign-out commits and revokes the sessions it sees: not this login's, not yet written.
        expect((await api.post(`/me/devices/${b.identifier}/sign-out`, {}, a.token)).status).toBe(200);
        return issue(...args);
      });
      try {
        const res = await api.post('/auth/device', { identifier: b.identifier, deviceSecret: b.deviceSecret });
        expect([res.status, res.body.code]).toEqual([401, 20013]);
      } finally {
        spy.mockRestore();
      }
      expect((await app.get(SessionService).currentSessionsOfDevices([b.identifier])).length).toBe(0);
    });
  });

  describe('endings that Redis refused after the change committed', () => {
    it('answer 503, stay recorded, and are applied by the relay: the other device is off the line', async () => {
      const [a, b] = await account(2);
      const socket = await connectDevice(url, b.token);
      const sessions = app.get(SessionService);
      const spy = jest.spyOn(sessions, 'end').mockRejectedValueOnce(new Error('Connection is closed.'));
      try {
        const res = await api.put('/me/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, a.token);
        expect([res.status, res.body.code]).toEqual([503, 100007]);
      } finally {
        spy.mockRestore();
      }
      const pending = async () => Number(((await world.sql.query('SELECT COUNT(*) AS n FROM session_endings'))[0] as Array<{ n: number }>)[0].n);
      expect(await pending()).toBe(1);
      expect(await within(socket.kicked, 6000, 'kicked by the relay')).toBe('password_changed');
      expect((await api.get('/me', b.token)).body.code).toBe(20106);
      expect((await api.get('/me', a.token)).status).toBe(200);
      await eventually('outbox empty', pending, (n) => n === 0);
    });
  });

  it("a lapsed session's token answers 100003, also after its device logs in again", async () => {
    const [a] = await account(1);
    await world.redis.del(world.keys.session(sessionIdOf(a.token))); // as its TTL would
    expect((await phoneLogin(api, a.phone!, a.identifier)).status).toBe(200);
    expect((await api.get('/me', a.token)).body.code).toBe(100003);
  });

  describe('PUT /me/password', () => {
    it('changes the password: every other session ends (20106, kicked password_changed), the caller stays, the new password logs in', async () => {
      const [a, b] = await account(2);
      const socket = await connectDevice(url, b.token);
      const res = await api.put('/me/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, a.token);
      expect([res.status, res.body.data]).toEqual([200, { signedOut: 1 }]);
      expect(await within(socket.kicked, 2000, 'kicked')).toBe('password_changed');
      expect((await api.get('/me', b.token)).body.code).toBe(20106);
      expect((await api.get('/me', a.token)).status).toBe(200);
      expect((await phoneLogin(api, a.phone!, uniqueIdentifier())).body.code).toBe(20003);
      expect((await phoneLogin(api, a.phone!, uniqueIdentifier(), { password: NEW_PASSWORD })).status).toBe(200);
    });

    it('needs the current password when the account has one: missing 400 / 100002, wrong 403 / 20015, and nothing changes', async () => {
      const [a, b] = await account(2);
      const missing = await api.put('/me/password', { newPassword: NEW_PASSWORD }, a.token);
      expect([missing.status, missing.body.code]).toEqual([400, 100002]);
      const wrong = await api.put('/me/password', { currentPassword: 'not-the-password', newPassword: NEW_PASSWORD }, a.token);
      expect([wrong.status, wrong.body.code]).toEqual([403, 20015]);
      const short = await api.put('/me/password', { currentPassword: PASSWORD, newPassword: 'short' }, a.token);
      expect([short.status, short.body.code]).toEqual([400, 100002]);
      expect((await api.get('/me', b.token)).status).toBe(200);
      expect((await phoneLogin(api, a.phone!, uniqueIdentifier())).status).toBe(200);
    });

    it("a guest account sets its first password without a current one; the account's other devices are signed out", async () => {
      const guest = await deviceLogin(api);
      const res = await api.put('/me/password', { newPassword: NEW_PASSWORD }, guest.token);
      expect([res.status, res.body.data]).toEqual([200, { signedOut: 0 }]);
      expect((await api.get('/me', guest.token)).status).toBe(200);
      const again = await api.put('/me/password', { newPassword: 'another-pass-1' }, guest.token);
      expect(again.body.code).toBe(100002);
    });

    it('wrong current passwords are limited per account and address like logins', async () => {
      const limited = await world.start({ LOGIN_FAILURES_PER_PHONE: '2' });
      const a = await registerUser(limited.api);
      for (let i = 0; i < 2; i += 1)
        expect((await limited.api.put('/me/password', { currentPassword: 'wrong-wrong', newPassword: NEW_PASSWORD }, a.token)).body.code).toBe(20015);
      const blocked = await limited.api.put('/me/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, a.token);
      expect([blocked.status, blocked.body.code]).toEqual([429, 100006]);
      await limited.app.close();
    });
  });

  describe('password reset by email', () => {
    it('mails a code at verify:reset:{email}; the code sets the password and ends every session of the account', async () => {
      const [a, b] = await account(2);
      const email = await bindEmail(a.token, a.userId);
      const socket = await connectDevice(url, a.token);
      const sent = await api.post('/auth/password/code', { email });
      expect([sent.status, sent.body.data]).toEqual([200, { expiresInSeconds: 600 }]);
      const code = await resetCodeOf(world.redis, email, a.userId);
      expect(code).toMatch(/^\d{6}$/);
      expect(await world.redis.ttl(`verify:reset:${email}`)).toBeGreaterThan(590);

      const wrong = await api.post('/auth/password/reset', { email, code: code === '000000' ? '000001' : '000000', newPassword: NEW_PASSWORD });
      expect([wrong.status, wrong.body.code]).toEqual([400, 20007]);
      const reset = await api.post('/auth/password/reset', { email, code, newPassword: NEW_PASSWORD });
      expect([reset.status, reset.body.data]).toEqual([200, null]);
      expect(await within(socket.kicked, 2000, 'kicked')).toBe('password_changed');
      expect((await api.get('/me', a.token)).body.code).toBe(20106);
      expect((await api.get('/me', b.token)).body.code).toBe(20106);
      expect((await phoneLogin(api, a.phone!, uniqueIdentifier(), { password: NEW_PASSWORD })).status).toBe(200);
      const reused = await api.post('/auth/password/reset', { email, code, newPassword: 'third-password-3' });
      expect(reused.body.code).toBe(20007);
    });

    it('answers the same for an email no account has, and stores no code for it', async () => {
      const email = uniqueEmail();
      const sent = await api.post('/auth/password/code', { email });
      expect([sent.status, sent.body]).toEqual([200, { code: 200, msg: 'OK', data: { expiresInSeconds: 600 } }]);
      expect(await world.redis.exists(`verify:reset:${email}`)).toBe(0);
      const reset = await api.post('/auth/password/reset', { email, code: '123456', newPassword: NEW_PASSWORD });
      expect([reset.status, reset.body.code]).toEqual([400, 20007]);
    });

    it('five wrong codes burn it', async () => {
      const [a] = await account(1);
      const email = await bindEmail(a.token, a.userId);
      await api.post('/auth/password/code', { email });
      const code = (await resetCodeOf(world.redis, email, a.userId))!;
      const wrongCode = code === '111111' ? '222222' : '111111';
      for (let i = 0; i < 5; i += 1)
        expect((await api.post('/auth/password/reset', { email, code: wrongCode, newPassword: NEW_PASSWORD })).body.code).toBe(20007);
      expect((await api.post('/auth/password/reset', { email, code, newPassword: NEW_PASSWORD })).body.code).toBe(20007);
      expect((await phoneLogin(api, a.phone!, uniqueIdentifier())).status).toBe(200);
    });
  });

  describe('password reset codes under attack', () => {
    let proxied: { api: Api; app: NestFastifyApplication; url: string };
    beforeAll(async () => {
      proxied = await world.start({ TRUST_PROXY: 'loopback' });
    });
    afterAll(() => proxied.app.close());
    const from = (address: string, path: string, body: unknown) =>
      fetch(`${proxied.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
        body: JSON.stringify(body),
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as any }));

    it("a stranger's requests and wrong codes neither replace nor burn the owner's code", async () => {
      const [a] = await account(1);
      const email = await bindEmail(a.token, a.userId);
      expect((await from('203.0.113.7', '/auth/password/code', { email })).status).toBe(200);
      const owners = Object.keys(await world.redis.hgetall(`verify:reset:${email}`));
      const code = (await world.redis.hget(`verify:reset:${email}`, owners[0]))!;
      await world.redis.del(`verify:reset:cooldown:${email}`); // the stranger comes after the cooldown
      expect((await from('198.51.100.9', '/auth/password/code', { email })).status).toBe(200);
      const wrong = code === '000000' ? '000001' : '000000';
      for (let i = 0; i < 5; i += 1)
        expect((await from('198.51.100.9', '/auth/password/reset', { email, code: wrong, newPassword: NEW_PASSWORD })).body.code).toBe(20007);
      // The owner's code is still theirs, and works from where they asked; from elsewhere it does not.
      expect((await from('198.51.100.9', '/auth/password/reset', { email, code, newPassword: NEW_PASSWORD })).body.code).toBe(20007);
      const reset = await from('203.0.113.7', '/auth/password/reset', { email, code, newPassword: NEW_PASSWORD });
      expect([reset.status, reset.body.data]).toEqual([200, null]);
    });

    it('an email gets 20 wrong codes a day, from every address together; then 429 with Retry-After', async () => {
      const [a] = await account(1);
      const email = await bindEmail(a.token, a.userId);
      for (let i = 0; i < 20; i += 1) {
        const res = await from(`203.0.113.${i + 1}`, '/auth/password/reset', { email, code: String(100000 + i), newPassword: NEW_PASSWORD });
        expect(res.body.code).toBe(20007);
      }
      const blocked = await fetch(`${proxied.url}/auth/password/reset`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '192.0.2.50' },
        body: JSON.stringify({ email, code: '123456', newPassword: NEW_PASSWORD }),
      });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(80000);
      expect(((await blocked.json()) as any).code).toBe(100006);
    });
  });

  describe('staff', () => {
    it("lists a user's devices with their session state (operators too) and an admin signs one out: kicked, 20108", async () => {
      const [a, b] = await account(2);
      const listed = await api.get(`/admin/app-users/${a.userId}/devices`, operator);
      expect(listed.status).toBe(200);
      expect(listed.body.data.map((d: any) => [d.identifier, d.signedIn, d.current])).toEqual([
        [a.identifier, true, false],
        [b.identifier, true, false],
      ]);
      const socket = await connectDevice(url, b.token);
      expect((await api.post(`/admin/app-users/${a.userId}/devices/${b.identifier}/sign-out`, {}, operator)).status).toBe(403);
      const res = await api.post(`/admin/app-users/${a.userId}/devices/${b.identifier}/sign-out`, {}, admin);
      expect([res.status, res.body.data]).toEqual([200, null]);
      expect(await within(socket.kicked, 2000, 'kicked')).toBe('kicked');
      expect((await api.get('/me', b.token)).body.code).toBe(20108);
      expect((await api.get('/me', a.token)).status).toBe(200);
      expect((await api.get(`/admin/app-users/${a.userId}/devices`, admin)).body.data[1]).toMatchObject({ signedIn: false, signedInAt: null });
    });

    it('404 for an unknown user (20005) or a device of another user (20006); a client token is refused', async () => {
      const [a] = await account(1);
      const other = await deviceLogin(api);
      expect((await api.get('/admin/app-users/999999999/devices', admin)).body.code).toBe(20005);
      expect((await api.post(`/admin/app-users/999999999/devices/${a.identifier}/sign-out`, {}, admin)).body.code).toBe(20005);
      expect((await api.post(`/admin/app-users/${a.userId}/devices/${other.identifier}/sign-out`, {}, admin)).body.code).toBe(20006);
      expect((await api.get(`/admin/app-users/${a.userId}/devices`, a.token)).status).toBe(401);
      expect((await api.get('/me', other.token)).status).toBe(200);
    });

    it('a timed disable kicks the devices (disabled) and ends by itself at disabledUntil', async () => {
      const [a] = await account(1);
      const socket = await connectDevice(url, a.token);
      const until = new Date(Date.now() + 1500).toISOString();
      const res = await api.patch(`/admin/app-users/${a.userId}`, { status: 2, disabledUntil: until }, admin);
      expect([res.status, res.body.data.status, res.body.data.disabledUntil]).toEqual([200, 2, until]);
      expect(await within(socket.kicked, 2000, 'kicked')).toBe('disabled');
      expect((await phoneLogin(api, a.phone!, a.identifier)).body.code).toBe(20004);
      const back = await eventually(
        'enabled again',
        () => api.get(`/admin/app-users/${a.userId}`, admin),
        (r) => r.body.data.status === 1,
        5000,
      );
      expect(back.body.data.disabledUntil).toBeNull();
      expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(until));
      expect((await phoneLogin(api, a.phone!, a.identifier)).status).toBe(200);
    });

    it('refuses a disabledUntil in the past, without a time zone, or with status 1', async () => {
      const [a] = await account(1);
      const cases = [
        { status: 2, disabledUntil: new Date(Date.now() - 1000).toISOString() },
        { status: 2, disabledUntil: '2030-01-01T00:00:00' },
        { status: 2, disabledUntil: 'tomorrow' },
        { status: 1, disabledUntil: new Date(Date.now() + 60_000).toISOString() },
      ];
      for (const body of cases) {
        const res = await api.patch(`/admin/app-users/${a.userId}`, body, admin);
        expect([res.status, res.body.code]).toEqual([400, 100002]);
      }
      expect((await api.get('/me', a.token)).status).toBe(200);
    });
  });
});
