import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes } from 'crypto';
import { StaffSessionService } from '../../src/oa-user/staff-session.service';
import { SessionService } from '../../src/session/session.service';
import { sessionIdOf } from '../../src/session/token';
import { PASSWORD } from '../support/builders';
import { connectDevice, refusal, within } from '../support/device-socket';
import { createOperator, deviceLogin, emailCodeOf, registerUser, staffLogin } from '../support/flows';
import { Api } from '../support/http';
import { TestWorld } from '../support/test-app';

/** CONTRACT section 3, "Device credentials" and "Identities are exact": the attacks of issue 9. */
describe('exact identities and device credentials', () => {
  let world: TestWorld;
  let app: NestFastifyApplication;
  let api: Api;
  let url: string;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ app, api, url } = await world.start());
  });
  afterAll(() => world.close());

  async function bindEmail(token: string, email: string, canonical = email) {
    expect((await api.post('/me/email/code', { email }, token)).status).toBe(200);
    const code = await emailCodeOf(world.redis, canonical, (await api.get('/me', token)).body.data.id);
    expect(code).toMatch(/^\d{6}$/);
    return api.post('/me/email/bind', { email, code }, token);
  }

  async function userIdOfDevice(identifier: string): Promise<number | null> {
    const [rows] = await world.sql.query('SELECT user_id FROM devices WHERE identifier = ?', [identifier]);
    return (rows as Array<{ user_id: number }>)[0]?.user_id ?? null;
  }

  describe('a lookalike email is another email', () => {
    it.each([
      ['an accented domain', (local: string) => `${local}@exämple.com`, (local: string) => `${local}@xn--exmple-cua.com`],
      ['an accented local part', (local: string) => `${local.replace('v', 'ï')}@example.com`, (local: string) => `${local.replace('v', 'ï')}@example.com`],
    ])("binding %s does not move the attacker into the victim's account", async (_, lookalike, canonical) => {
      const local = `victim${randomBytes(4).toString('hex')}`;
      const victim = await registerUser(api);
      expect((await bindEmail(victim.token, `${local}@example.com`)).body.data).toMatchObject({ migrated: false, userId: victim.userId });

      const attacker = await deviceLogin(api);
      const bound = await bindEmail(attacker.token, lookalike(local), canonical(local));
      expect(bound.status).toBe(200);
      expect(bound.body.data).toEqual({ email: canonical(local), userId: attacker.userId, migrated: false });
      expect(await userIdOfDevice(attacker.identifier)).toBe(attacker.userId);
      expect((await api.get('/me', victim.token)).body.data.email).toBe(`${local}@example.com`);
      expect((await api.get('/me/devices', victim.token)).body.data.map((d: { identifier: string }) => d.identifier)).toEqual([victim.identifier]);
    });

    it('stores the canonical form, so another spelling of the same address does reach its account', async () => {
      const local = `owner${randomBytes(4).toString('hex')}`;
      const owner = await registerUser(api);
      const bound = await bindEmail(owner.token, `  ${local.toUpperCase()}@EXÄMPLE.com `, `${local}@xn--exmple-cua.com`);
      expect(bound.body.data.email).toBe(`${local}@xn--exmple-cua.com`);
      const other = await deviceLogin(api);
      const joined = await bindEmail(other.token, `${local}@xn--exmple-cua.com`);
      expect(joined.body.data).toMatchObject({ migrated: true, userId: owner.userId });
    });
  });

  describe('device identifiers compare byte for byte', () => {
    it("a case variant is another device, and neither one's unbind leaves a zombie of the other", async () => {
      const suffix = randomBytes(4).toString('hex');
      const real = await registerUser(api, undefined, `Phone-ABC-${suffix}`);
      const realSocket = await connectDevice(url, real.token);
      const variant = await deviceLogin(api, `phone-abc-${suffix}`);
      expect(variant.userId).not.toBe(real.userId);
      const variantSocket = await connectDevice(url, variant.token);
      expect(await world.redis.get(`device:session:Phone-ABC-${suffix}`)).not.toBeNull();
      expect((await api.get('/me', real.token)).body.data.id).toBe(real.userId);

      expect((await api.delete(`/me/devices/Phone-ABC-${suffix}`, real.token)).status).toBe(200);
      expect(await within(realSocket.kicked, 3000, 'real device kicked')).toBe('unbound');
      expect((await api.get('/me', real.token)).body.code).toBe(20102);
      expect((await api.get('/me', variant.token)).status).toBe(200);
      expect(variantSocket.events).toEqual([]);
      expect(variantSocket.socket.connected).toBe(true);

      expect((await api.delete(`/me/devices/phone-abc-${suffix}`, variant.token)).status).toBe(200);
      expect(await within(variantSocket.kicked, 3000, 'variant kicked')).toBe('unbound');
      expect((await api.get('/me', variant.token)).body.code).toBe(20102);
      expect(await refusal(url, variant.token)).toEqual({ message: 'unauthorized', code: 20102 });
      expect(await world.redis.exists(`device:session:Phone-ABC-${suffix}`, `device:session:phone-abc-${suffix}`)).toBe(0);
    });

    it('a device of 128 characters can be unbound; a longer path parameter or a bad encoding is refused in the envelope', async () => {
      const identifier = `d-${'x'.repeat(126)}`;
      const device = await registerUser(api, undefined, identifier);
      const socket = await connectDevice(url, device.token);
      const removed = await api.delete(`/me/devices/${identifier}`, device.token);
      expect(removed.body).toEqual({ code: 200, msg: 'OK', data: null });
      expect(await within(socket.kicked, 3000, 'kicked')).toBe('unbound');

      const tooLong = await api.delete(`/me/devices/${'y'.repeat(600)}`, device.token);
      expect([tooLong.status, tooLong.body.code]).toEqual([414, 100002]);
      const over = await api.delete(`/me/devices/${'y'.repeat(129)}`, (await deviceLogin(api)).token);
      expect([over.status, over.body.code]).toEqual([400, 100002]);
      const badEncoding = await api.delete('/me/devices/%zz', device.token);
      expect([badEncoding.status, badEncoding.body.code]).toEqual([400, 100002]);
    });
  });

  describe('a device identifier is a name, never a credential', () => {
    it('a known identifier without its secret gets 20013, and the real device keeps its session and socket', async () => {
      const real = await registerUser(api);
      const socket = await connectDevice(url, real.token);
      const sessionsBefore = await world.redis.zrange(`user_sessions:${real.userId}`, 0, -1);

      const stranger = await api.post('/auth/device', { identifier: real.identifier });
      expect([stranger.status, stranger.body.code]).toEqual([401, 20013]);
      const guessed = await api.post('/auth/device', { identifier: real.identifier, deviceSecret: randomBytes(32).toString('base64url') });
      expect([guessed.status, guessed.body.code]).toEqual([401, 20013]);

      const attacker = await registerUser(api);
      const pulled = await api.post('/auth/login', { phone: attacker.phone, password: PASSWORD, identifier: real.identifier });
      expect([pulled.status, pulled.body.code]).toEqual([401, 20013]);
      const registered = await api.post('/auth/register', { phone: `1${Date.now().toString().slice(-10)}`, password: PASSWORD, identifier: real.identifier });
      expect([registered.status, registered.body.code]).toEqual([401, 20013]);

      expect(await userIdOfDevice(real.identifier)).toBe(real.userId);
      expect(await world.redis.zrange(`user_sessions:${real.userId}`, 0, -1)).toEqual(sessionsBefore);
      expect((await api.get('/me', real.token)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(socket.events).toEqual([]);
      expect(socket.socket.connected).toBe(true);
      socket.close();
    });

    it("the device's own secret logs it in and rotates; the old secret stops working", async () => {
      const first = await deviceLogin(api);
      expect(first.deviceSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const [rows] = await world.sql.query('SELECT secret_hash FROM devices WHERE identifier = ?', [first.identifier]);
      expect((rows as Array<{ secret_hash: string }>)[0].secret_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(rows)).not.toContain(first.deviceSecret);

      const second = await deviceLogin(api, first.identifier, first.deviceSecret);
      expect(second.userId).toBe(first.userId);
      expect(second.deviceSecret).not.toBe(first.deviceSecret);
      const stale = await api.post('/auth/device', { identifier: first.identifier, deviceSecret: first.deviceSecret });
      expect(stale.body.code).toBe(20013);
      expect((await api.get('/me', second.token)).status).toBe(200);
    });

    it("a phone login names its own device without the secret, and brings in another account's device only with it", async () => {
      const owner = await registerUser(api);
      const again = await api.post('/auth/login', { phone: owner.phone, password: PASSWORD, identifier: owner.identifier });
      expect(again.status).toBe(200);
      const guest = await deviceLogin(api);
      const joined = await api.post('/auth/login', { phone: owner.phone, password: PASSWORD, identifier: guest.identifier, deviceSecret: guest.deviceSecret });
      expect(joined.status).toBe(200);
      expect(await userIdOfDevice(guest.identifier)).toBe(owner.userId);
      expect((await api.get('/me', guest.token)).body.code).toBe(20103);
    });

    describe('a refused login changes no credential (CONTRACT section 3: only a successful login rotates the secret)', () => {
      const setStatus = async (userId: number, status: 1 | 2) => {
        const admin = await staffLogin(api, world.admin.phone, world.admin.password);
        expect((await api.patch(`/admin/app-users/${userId}`, { status }, admin)).status).toBe(200);
      };
      const secretOf = async (identifier: string) => {
        const [rows] = await world.sql.query('SELECT secret_hash, secret_for FROM devices WHERE identifier = ?', [identifier]);
        return (rows as Array<{ secret_hash: string; secret_for: string }>)[0];
      };
      /** Runs `meanwhile` once, after the next login's device transaction committed and before its session is issued. */
      const beforeNextIssue = (meanwhile: () => Promise<void>) => {
        const sessions = app.get(SessionService);
        const issue = sessions.issue.bind(sessions);
        return jest.spyOn(sessions, 'issue').mockImplementationOnce(async (...args) => {
          await meanwhile();
          return issue(...args);
        });
      };

      it('a guest refused while its account is disabled logs in with the same secret once it is enabled again', async () => {
        const guest = await deviceLogin(api);
        await setStatus(guest.userId, 2);
        const before = await secretOf(guest.identifier);
        const refused = await api.post('/auth/device', { identifier: guest.identifier, deviceSecret: guest.deviceSecret });
        expect([refused.status, refused.body.code]).toEqual([403, 20004]);
        expect(await secretOf(guest.identifier)).toEqual(before);
        await setStatus(guest.userId, 1);
        expect((await deviceLogin(api, guest.identifier, guest.deviceSecret)).userId).toBe(guest.userId);
      });

      it('also when the disable commits after the login rotated the secret: the old secret is put back', async () => {
        const guest = await deviceLogin(api);
        const before = await secretOf(guest.identifier);
        const spy = beforeNextIssue(() => setStatus(guest.userId, 2));
        try {
          const refused = await api.post('/auth/device', { identifier: guest.identifier, deviceSecret: guest.deviceSecret });
          expect([refused.status, refused.body.code]).toEqual([403, 20004]);
        } finally {
          spy.mockRestore();
        }
        expect(await secretOf(guest.identifier)).toEqual(before);
        await setStatus(guest.userId, 1);
        expect((await deviceLogin(api, guest.identifier, guest.deviceSecret)).userId).toBe(guest.userId);
      });

      it('a sign-out that commits meanwhile is not undone: the device stays signed out', async () => {
        const owner = await registerUser(api);
        const device = await deviceLogin(api);
        expect(
          (await api.post('/auth/login', { phone: owner.phone, password: PASSWORD, identifier: device.identifier, deviceSecret: device.deviceSecret })).status,
        ).toBe(200);
        const joined = await api.post('/auth/login', { phone: owner.phone, password: PASSWORD, identifier: device.identifier });
        const secret: string = joined.body.data.deviceSecret;
        const spy = beforeNextIssue(async () => {
          const admin = await staffLogin(api, world.admin.phone, world.admin.password);
          expect((await api.post(`/admin/app-users/${owner.userId}/devices/${device.identifier}/sign-out`, {}, admin)).status).toBe(200);
        });
        try {
          const refused = await api.post('/auth/device', { identifier: device.identifier, deviceSecret: secret });
          expect([refused.status, refused.body.code]).toEqual([401, 20013]);
        } finally {
          spy.mockRestore();
        }
        expect((await secretOf(device.identifier)).secret_for).toBe('kicked');
        expect((await api.post('/auth/device', { identifier: device.identifier, deviceSecret: secret })).body.code).toBe(20013);
      });
    });

    it('a device from before secrets gets one at its next login (trust on first use)', async () => {
      const legacy = await deviceLogin(api);
      await world.sql.query('UPDATE devices SET secret_hash = NULL WHERE identifier = ?', [legacy.identifier]);
      const first = await api.post('/auth/device', { identifier: legacy.identifier });
      expect(first.status).toBe(200);
      expect(first.body.data.userId).toBe(legacy.userId);
      expect((await api.post('/auth/device', { identifier: legacy.identifier })).body.code).toBe(20013);
      expect((await api.post('/auth/device', { identifier: legacy.identifier, deviceSecret: first.body.data.deviceSecret })).status).toBe(200);
    });
  });

  it('staff logout ends the token on the server', async () => {
    const token = await staffLogin(api, world.admin.phone, world.admin.password);
    expect((await api.get('/admin/app-users?limit=1', token)).status).toBe(200);
    expect((await api.post('/oa/auth/logout', {}, token)).body).toEqual({ code: 200, msg: 'OK', data: null });
    const after = await api.get('/admin/app-users?limit=1', token);
    expect([after.status, after.body.code]).toEqual([401, 100003]);
    expect((await api.post('/oa/auth/logout', {}, token)).status).toBe(401);
  });

  it("a staff login with the old password that races an admin's password change leaves no session", async () => {
    const admin = await staffLogin(api, world.admin.phone, world.admin.password);
    const operator = await createOperator(api, admin);
    const staffId: number = (await api.get('/oa/me', operator.token)).body.data.id;
    // The change commits, and ends every session it can see, after the login checked the old
    // password and before it writes its session.
    const sessions = app.get(StaffSessionService);
    const issue = sessions.issue.bind(sessions);
    const spy = jest.spyOn(sessions, 'issue').mockImplementationOnce(async (staff) => {
      expect((await api.patch(`/admin/oa-users/${staffId}`, { password: 'another-horse-7' }, admin)).status).toBe(200);
      return issue(staff);
    });
    let raced: string;
    try {
      raced = await staffLogin(api, operator.phone, PASSWORD);
    } finally {
      spy.mockRestore();
    }
    for (const token of [raced, operator.token]) expect((await api.get('/oa/me', token)).body.code).toBe(100003);
    expect(await world.redis.exists(`oa_session:${sessionIdOf(raced)}`)).toBe(0);
    expect((await api.get('/oa/me', await staffLogin(api, operator.phone, 'another-horse-7'))).status).toBe(200);
  });

  describe('nicknames', () => {
    it.each([
      ['a NUL', 'a\u0000b'],
      ['a right-to-left override', 'evil\u202Etxt.exe'],
      ['a zero-width space', 'ad\u200Bmin'],
      ['a byte-order mark', '\uFEFFadmin'],
      ['a bidirectional isolate', '\u2066admin\u2069'],
      ['only whitespace', ' \u3000 '],
      ['33 characters', 'x'.repeat(33)],
      ['nothing', ''],
    ])('refuses %s with 400 / 100002 and keeps the old nickname', async (_, nickname) => {
      const user = await deviceLogin(api);
      expect((await api.patch('/me', { nickname: 'Lin' }, user.token)).status).toBe(200);
      const res = await api.patch('/me', { nickname }, user.token);
      expect([res.status, res.body.code]).toEqual([400, 100002]);
      expect(res.body.msg).toMatch(/^nickname: /);
      expect((await api.get('/me', user.token)).body.data.nickname).toBe('Lin');
    });

    it('takes 32 user-perceived characters, emoji sequences with their joiners included', async () => {
      const user = await deviceLogin(api);
      const family = '👨‍👩‍👧‍👦';
      for (const nickname of [family.repeat(32), '林小明', 'Zoë ❤️', 'x'.repeat(32)]) {
        const res = await api.patch('/me', { nickname }, user.token);
        expect(res.status).toBe(200);
        expect((await api.get('/me', user.token)).body.data.nickname).toBe(nickname);
      }
    });
  });
});
