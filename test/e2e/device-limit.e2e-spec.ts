import { EventEmitter2 } from '@nestjs/event-emitter';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { SessionEvents } from '../../src/session/session-events';
import { sessionIdOf } from '../../src/session/token';
import { DeviceLimit } from '../../src/session/device-limit';
import { SessionIntegrity } from '../../src/device/session-integrity.service';
import { uniqueEmail, uniqueIdentifier } from '../support/builders';
import { connectDevice, within } from '../support/device-socket';
import { deviceLogin, emailCodeOf, phoneLogin, registerUser } from '../support/flows';
import { Api } from '../support/http';
import { TestWorld } from '../support/test-app';

/** Issue 14: MAX_DEVICES_PER_USER with both policies, and SESSION_IDLE_SECONDS. */
describe('per-account device limit and idle timeout', () => {
  let world: TestWorld;

  beforeAll(async () => {
    world = await TestWorld.create();
  });
  afterAll(() => world.close());

  /** Every session end the app announces, by reason. */
  function recordEnds(app: NestFastifyApplication) {
    const ends: Array<{ sessionId: string; reason: string }> = [];
    app
      .get(EventEmitter2)
      .on('session.ended', ({ ended }: SessionEvents['session.ended']) =>
        ends.push(...ended.map((e) => ({ sessionId: e.session.sessionId, reason: e.reason }))),
      );
    return ends;
  }

  /**
   * Makes the race deterministic: each login that has checked the account waits, before its
   * session is issued, until another login has checked it too (or 400 ms). Logins that take turns
   * never meet there (the second checks only after the first issued); logins that did not would
   * all check the same count and all get in.
   */
  function holdAfterCheck(app: NestFastifyApplication) {
    const limit = app.get(DeviceLimit) as unknown as { excess: (...args: unknown[]) => Promise<unknown> };
    const integrity = app.get(SessionIntegrity);
    let checks = 0;
    const excess = limit.excess.bind(limit);
    const issue = integrity.issue.bind(integrity);
    const spies = [
      jest.spyOn(limit, 'excess').mockImplementation(async (...args: unknown[]) => {
        checks += 1;
        return excess(...args);
      }),
      jest.spyOn(integrity, 'issue').mockImplementation(async (...args: Parameters<SessionIntegrity['issue']>) => {
        const seen = checks;
        for (const until = Date.now() + 400; checks === seen && Date.now() < until;) await new Promise((resolve) => setTimeout(resolve, 10));
        return issue(...args);
      }),
    ];
    return () => spies.forEach((spy) => spy.mockRestore());
  }

  const signedIn = async (api: Api, token: string) =>
    ((await api.get('/me/devices', token)).body.data as Array<{ identifier: string; signedIn: boolean }>).filter((d) => d.signedIn);

  describe('kick-oldest', () => {
    let app: NestFastifyApplication;
    let api: Api;
    let url: string;
    beforeAll(async () => {
      ({ app, api, url } = await world.start({ MAX_DEVICES_PER_USER: '2', DEVICE_LIMIT_POLICY: 'kick-oldest' }));
    });
    afterAll(() => app.close());

    it('a login past the limit ends the least recently active device, not the first signed in: kicked overflow, 20105', async () => {
      const a = await registerUser(api);
      const b = (await phoneLogin(api, a.phone!, uniqueIdentifier())).body.data;
      const socket = await connectDevice(url, b.token);
      // a signed in first but was used 10 s ago; b signed in later and has been idle for 2 minutes.
      const now = Date.now();
      const backdate = async (token: string, issuedAt: number, activeAt: number) => {
        const key = world.keys.session(sessionIdOf(token));
        await world.redis.set(key, JSON.stringify({ ...JSON.parse((await world.redis.get(key))!), issuedAt, activeAt }), 'KEEPTTL');
      };
      await backdate(a.token, now - 180_000, now - 10_000);
      await backdate(b.token, now - 120_000, now - 120_000);
      const c = await phoneLogin(api, a.phone!, uniqueIdentifier());
      expect(c.status).toBe(200);
      expect(await within(socket.kicked, 2000, 'kicked')).toBe('overflow');
      expect((await api.get('/me', b.token)).body.code).toBe(20105);
      expect((await api.get('/me', a.token)).status).toBe(200);
      expect((await signedIn(api, c.body.data.token)).length).toBe(2);
    });

    it('a device that is signed in already logs in again without pushing anyone out', async () => {
      const a = await registerUser(api);
      const b = await phoneLogin(api, a.phone!, uniqueIdentifier());
      const again = await phoneLogin(api, a.phone!, a.identifier);
      expect(again.status).toBe(200);
      expect((await api.get('/me', b.body.data.token)).status).toBe(200);
      expect((await api.get('/me', a.token)).body.code).toBe(20103);
    });

    it('concurrent logins of a full account never leave more signed-in devices than the limit, and push each device out once', async () => {
      const ends = recordEnds(app);
      const a = await registerUser(api);
      const b = (await phoneLogin(api, a.phone!, uniqueIdentifier())).body.data;
      const release = holdAfterCheck(app);
      let logins;
      try {
        logins = await Promise.all([0, 1].map(() => phoneLogin(api, a.phone!, uniqueIdentifier())));
      } finally {
        release();
      }
      expect(logins.map((r) => r.status)).toEqual([200, 200]);
      const tokens: string[] = [a.token, b.token, ...logins.map((r) => r.body.data.token)];
      const codes = await Promise.all(tokens.map(async (t) => (await api.get('/me', t)).body.code));
      expect(codes).toEqual([20105, 20105, 200, 200]);
      const overflow = ends.filter((e) => e.reason === 'overflow').map((e) => e.sessionId);
      expect(overflow.sort()).toEqual([sessionIdOf(a.token), sessionIdOf(b.token)].sort());
      expect((await signedIn(api, tokens[3])).length).toBe(2);
    });

    it("naming a device without its secret is refused at once and never holds up the account's logins", async () => {
      const a = await registerUser(api);
      await world.redis.set(`device_limit_lock:${a.userId}`, 'someone else', 'PX', 10_000); // a login of the account in progress
      try {
        const started = Date.now();
        const res = await api.post('/auth/device', { identifier: a.identifier, deviceSecret: 'x'.repeat(43) });
        expect([res.status, res.body.code]).toEqual([401, 20013]);
        expect(Date.now() - started).toBeLessThan(2000); // not after the 5 s wait for the lock
      } finally {
        await world.redis.del(`device_limit_lock:${a.userId}`);
      }
    });

    it('a burst of logins into one account all get in, and leave exactly the limit signed in', async () => {
      const a = await registerUser(api);
      const logins = await Promise.all(Array.from({ length: 6 }, () => phoneLogin(api, a.phone!, uniqueIdentifier())));
      expect(logins.map((r) => r.status)).toEqual(Array(6).fill(200));
      const live = await Promise.all(logins.map((r) => api.get('/me', r.body.data.token)));
      expect(live.filter((r) => r.status === 200).length).toBe(2);
    });

    it('an email binding that moves a device into a full account applies the policy to its fresh session', async () => {
      const owner = await registerUser(api);
      const second = await phoneLogin(api, owner.phone!, uniqueIdentifier());
      const email = uniqueEmail();
      await api.post('/me/email/code', { email }, owner.token);
      expect((await api.post('/me/email/bind', { email, code: await emailCodeOf(world.redis, email, owner.userId) }, owner.token)).status).toBe(200);
      const guest = await deviceLogin(api);
      await api.post('/me/email/code', { email }, guest.token);
      const bound = await api.post('/me/email/bind', { email, code: await emailCodeOf(world.redis, email, guest.userId) }, guest.token);
      expect([bound.status, bound.body.data.migrated]).toEqual([200, true]);
      const codes = await Promise.all([owner.token, second.body.data.token].map(async (t) => (await api.get('/me', t)).body.code));
      expect(codes.sort()).toEqual([200, 20105]);
      expect((await signedIn(api, bound.body.data.token)).length).toBe(2);
    });
  });

  describe('deny-new', () => {
    let app: NestFastifyApplication;
    let api: Api;
    beforeAll(async () => {
      ({ app, api } = await world.start({ MAX_DEVICES_PER_USER: '2', DEVICE_LIMIT_POLICY: 'deny-new' }));
    });
    afterAll(() => app.close());

    it('refuses a login past the limit with 403 / 20014 and changes nothing: the device keeps its account and its secret', async () => {
      const a = await registerUser(api);
      await phoneLogin(api, a.phone!, uniqueIdentifier());
      const elsewhere = await deviceLogin(api);
      const refused = await phoneLogin(api, a.phone!, elsewhere.identifier, { deviceSecret: elsewhere.deviceSecret });
      expect([refused.status, refused.body.code]).toEqual([403, 20014]);
      expect((await api.get('/me', elsewhere.token)).body.data.id).toBe(elsewhere.userId);
      const relogin = await deviceLogin(api, elsewhere.identifier, elsewhere.deviceSecret);
      expect(relogin.userId).toBe(elsewhere.userId);
      expect((await phoneLogin(api, a.phone!, uniqueIdentifier())).body.code).toBe(20014);
      expect((await api.get('/me/devices', a.token)).body.data.length).toBe(2);
      // A signed-in device may log in again; after a sign-out there is room.
      expect((await phoneLogin(api, a.phone!, a.identifier)).status).toBe(200);
    });

    it('of concurrent logins into the last place exactly one gets in', async () => {
      const a = await registerUser(api);
      const release = holdAfterCheck(app);
      let logins;
      try {
        logins = await Promise.all([0, 1, 2].map(() => phoneLogin(api, a.phone!, uniqueIdentifier())));
      } finally {
        release();
      }
      expect(logins.map((r) => r.status).sort()).toEqual([200, 403, 403]);
      expect(logins.filter((r) => r.status === 403).every((r) => r.body.code === 20014)).toBe(true);
      expect((await api.get('/me', a.token)).status).toBe(200);
      expect((await api.get('/me/devices', a.token)).body.data.length).toBe(2);
    });

    it('a device joining a full account is refused too; signing a device out makes room for its phone login', async () => {
      const a = await registerUser(api);
      const b = await phoneLogin(api, a.phone!, uniqueIdentifier());
      const c = await deviceLogin(api);
      const joinWithSecret = await phoneLogin(api, a.phone!, c.identifier, { deviceSecret: c.deviceSecret });
      expect(joinWithSecret.body.code).toBe(20014);
      const bIdentifier = (await api.get('/me/devices', a.token)).body.data.find((d: any) => !d.current).identifier;
      expect((await api.post(`/me/devices/${bIdentifier}/sign-out`, {}, a.token)).status).toBe(200);
      // Signed out for good: its secret no longer logs it in; the account's password does.
      expect((await api.post('/auth/device', { identifier: bIdentifier, deviceSecret: b.body.data.deviceSecret })).body.code).toBe(20013);
      const back = await phoneLogin(api, a.phone!, bIdentifier);
      expect([back.status, back.body.data.userId]).toEqual([200, a.userId]);
      expect((await phoneLogin(api, a.phone!, uniqueIdentifier())).body.code).toBe(20014);
    });

    it('an email binding into a full account is refused before it uses the code, and moves nothing', async () => {
      const owner = await registerUser(api);
      await phoneLogin(api, owner.phone!, uniqueIdentifier());
      const email = uniqueEmail();
      await api.post('/me/email/code', { email }, owner.token);
      await api.post('/me/email/bind', { email, code: await emailCodeOf(world.redis, email, owner.userId) }, owner.token);
      const guest = await deviceLogin(api);
      await api.post('/me/email/code', { email }, guest.token);
      const code = await emailCodeOf(world.redis, email, guest.userId);
      const refused = await api.post('/me/email/bind', { email, code }, guest.token);
      expect([refused.status, refused.body.code]).toEqual([403, 20014]);
      expect((await api.get('/me', guest.token)).body.data.id).toBe(guest.userId);
      expect(await emailCodeOf(world.redis, email, guest.userId)).toBe(code);
    });
  });

  describe('SESSION_IDLE_SECONDS', () => {
    let app: NestFastifyApplication;
    let api: Api;
    let url: string;
    beforeAll(async () => {
      ({ app, api, url } = await world.start({ SESSION_IDLE_SECONDS: '2' }));
    });
    afterAll(() => app.close());

    it('a session unused for the idle timeout ends (100003); one in use, or with an open socket, lives on', async () => {
      const idle = await deviceLogin(api);
      const used = await deviceLogin(api);
      const connected = await deviceLogin(api);
      const socket = await connectDevice(url, connected.token);
      const until = Date.now() + 4500;
      while (Date.now() < until) {
        expect((await api.get('/me', used.token)).status).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect((await api.get('/me', idle.token)).body.code).toBe(100003);
      expect((await api.get('/me', used.token)).status).toBe(200);
      expect((await api.get('/me', connected.token)).status).toBe(200);
      expect(socket.events).toEqual([]);
      socket.close();
    });
  });
});
