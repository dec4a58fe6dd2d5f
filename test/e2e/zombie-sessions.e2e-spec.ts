import { uniqueEmail } from '../support/builders';
import { connectDevice, refusal, within } from '../support/device-socket';
import { deviceLogin, emailCodeOf, registerUser } from '../support/flows';
import { Api } from '../support/http';
import { TestWorld } from '../support/test-app';
import { sessionIdOf } from '../../src/session/token';

/** The seed's bug (CONTRACT section 1): a migrated device must not survive as a zombie. */
describe('device migration and removal leave no zombie sessions', () => {
  let world: TestWorld;
  let api: Api;
  let url: string;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ api, url } = await world.start());
  });
  afterAll(() => world.close());

  async function bindEmail(token: string, email: string) {
    await api.post('/me/email/code', { email }, token);
    const code = await emailCodeOf(world.redis, email, (await api.get('/me', token)).body.data.id);
    expect(code).toMatch(/^\d{6}$/);
    return api.post('/me/email/bind', { email, code }, token);
  }

  async function sessionEntries(token: string, userId: number, identifier: string) {
    const sid = sessionIdOf(token);
    return {
      session: await world.redis.exists(world.keys.session(sid)),
      device: (await world.redis.get(`device:session:${identifier}`)) === sid ? 1 : 0,
      zset: (await world.redis.zscore(`user_sessions:${userId}`, sid)) === null ? 0 : 1,
    };
  }

  it("B binds A's email: kicked as migrated, old token 20101; A removes B: kicked as unbound, token 20102, entries gone", async () => {
    const email = uniqueEmail();
    const a = await registerUser(api);
    expect((await bindEmail(a.token, email)).body.data).toMatchObject({ migrated: false, userId: a.userId });

    const b = await deviceLogin(api);
    expect(b.userId).not.toBe(a.userId);
    const bSocket = await connectDevice(url, b.token);
    expect(await sessionEntries(b.token, b.userId, b.identifier)).toEqual({ session: 1, device: 1, zset: 1 });

    const bound = await bindEmail(b.token, email);
    expect(bound.status).toBe(200);
    expect(bound.body.data).toMatchObject({ migrated: true, userId: a.userId });
    expect(await within(bSocket.kicked, 2000, 'kicked')).toBe('migrated');
    await within(bSocket.closed, 2000, 'disconnect');
    expect(bSocket.events).toEqual(['kicked:migrated', 'disconnect:io server disconnect']);

    const old = await api.get('/me', b.token);
    expect([old.status, old.body.code]).toEqual([401, 20101]);
    expect(await sessionEntries(b.token, b.userId, b.identifier)).toEqual({ session: 0, device: 0, zset: 0 });
    expect(await refusal(url, b.token)).toEqual({ message: 'unauthorized', code: 20101 });

    const newToken: string = bound.body.data.token;
    expect((await api.get('/me', newToken)).body.data.id).toBe(a.userId);
    const bAgain = await connectDevice(url, newToken);

    const listed = await api.get('/me/devices', a.token);
    expect(listed.body.data).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ identifier: b.identifier, online: true, current: false }),
        expect.objectContaining({ identifier: a.identifier, current: true }),
      ]),
    );

    const removed = await api.delete(`/me/devices/${b.identifier}`, a.token);
    expect(removed.status).toBe(200);
    expect(await within(bAgain.kicked, 2000, 'kicked')).toBe('unbound');
    await within(bAgain.closed, 2000, 'disconnect');
    const gone = await api.get('/me', newToken);
    expect([gone.status, gone.body.code]).toEqual([401, 20102]);
    expect(await sessionEntries(newToken, a.userId, b.identifier)).toEqual({ session: 0, device: 0, zset: 0 });
    expect((await api.get('/me/devices', a.token)).body.data.map((d: { identifier: string }) => d.identifier)).toEqual([a.identifier]);
  });

  it('a second login of the same device replaces the first: old token 20103, old socket kicked as replaced', async () => {
    const first = await deviceLogin(api);
    const socket = await connectDevice(url, first.token);
    const second = await deviceLogin(api, first.identifier, first.deviceSecret);
    expect(second.userId).toBe(first.userId);
    expect(await within(socket.kicked, 2000, 'kicked')).toBe('replaced');
    expect((await api.get('/me', first.token)).body.code).toBe(20103);
    expect((await api.get('/me', second.token)).status).toBe(200);
  });

  it('logout kicks the socket with reason logout and the token becomes unknown (100003)', async () => {
    const login = await deviceLogin(api);
    const socket = await connectDevice(url, login.token);
    expect((await api.post('/auth/logout', {}, login.token)).status).toBe(200);
    expect(await within(socket.kicked, 2000, 'kicked')).toBe('logout');
    expect((await api.get('/me', login.token)).body.code).toBe(100003);
  });

  it('refuses a missing or unknown token at connect time', async () => {
    expect(await refusal(url, undefined)).toMatchObject({ message: 'unauthorized', code: 100003 });
    expect(await refusal(url, 'x'.repeat(43))).toMatchObject({ message: 'unauthorized', code: 100003 });
  });

  it('DELETE /me/devices answers 404 for a device of another account and for an unknown one', async () => {
    const owner = await deviceLogin(api);
    const stranger = await deviceLogin(api);
    const res = await api.delete(`/me/devices/${owner.identifier}`, stranger.token);
    expect([res.status, res.body.code]).toEqual([404, 20006]);
    expect((await api.delete('/me/devices/no-such-device', stranger.token)).status).toBe(404);
    expect((await api.get('/me', owner.token)).status).toBe(200);
  });

  it('a wrong email code is refused and does not bind; five wrong codes burn the code', async () => {
    const user = await deviceLogin(api);
    const email = uniqueEmail();
    await api.post('/me/email/code', { email }, user.token);
    const code = (await emailCodeOf(world.redis, email, user.userId)) as string;
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i += 1) expect((await api.post('/me/email/bind', { email, code: wrong }, user.token)).body.code).toBe(20007);
    expect((await api.post('/me/email/bind', { email, code }, user.token)).body.code).toBe(20007);
    expect((await api.get('/me', user.token)).body.data.email).toBeNull();
  });
});
