import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SessionService } from '../../src/session/session.service';
import { sessionIdOf } from '../../src/session/token';
import { PASSWORD } from '../support/builders';
import { BinlogMariaDb, startBinlogMariaDb } from '../support/binlog-mariadb';
import { cdcSettled } from '../support/cdc';
import { connectDevice, refusal, within } from '../support/device-socket';
import { deviceLogin, emailCodeOf, registerUser, staffLogin } from '../support/flows';
import { Api } from '../support/http';
import { TestWorld } from '../support/test-app';

/** A promise the test resolves by hand. */
function gate(): { reached: Promise<void>; opened: Promise<void>; reach: () => void; open: () => void } {
  let reach!: () => void;
  let open!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { reached, opened, reach, open };
}

/**
 * Pauses the next session issue of the app between the login's committed device transaction and
 * the session being written to Redis: the window in which a change of the device used to slip by.
 */
function pauseNextIssue(app: NestFastifyApplication) {
  const sessions = app.get(SessionService);
  const issue = sessions.issue.bind(sessions);
  const paused = gate();
  const spy = jest.spyOn(sessions, 'issue').mockImplementationOnce(async (userId, identifier, pw) => {
    paused.reach();
    await paused.opened;
    return issue(userId, identifier, pw);
  });
  return { ...paused, restore: () => spy.mockRestore() };
}

/** Issue 11, break 1: no session outlives the ownership it was issued under. */
describe('a login racing a change of its device leaves no session behind', () => {
  let db: BinlogMariaDb;
  let world: TestWorld;
  let app: NestFastifyApplication;
  let api: Api;
  let url: string;

  beforeAll(async () => {
    db = await startBinlogMariaDb();
    world = await TestWorld.create({ database: db });
    ({ app, api, url } = await world.start({ CDC_MODE: 'binlog', CDC_HEARTBEAT_SECONDS: '1', SOCKET_SWEEP_SECONDS: '1' }));
  });
  afterAll(async () => {
    await world?.close();
    await db?.stop();
  });

  async function sessionsOfDevice(identifier: string) {
    const sid = await world.redis.get(`device:session:${identifier}`);
    return sid === null ? null : JSON.parse((await world.redis.get(world.keys.session(sid))) ?? 'null');
  }

  it('a hand-written UPDATE devices SET user_id that commits while the login issues its session', async () => {
    const other = await registerUser(api);
    const device = await deviceLogin(api);
    const pause = pauseNextIssue(app);
    try {
      const login = api.post('/auth/device', { identifier: device.identifier, deviceSecret: device.deviceSecret });
      await pause.reached;
      await world.sql.query('UPDATE devices SET user_id = ? WHERE identifier = ?', [other.userId, device.identifier]);
      await cdcSettled(app, world.sql); // change capture ended every session it could see: none yet
      pause.open();
      const res = await login;
      expect([res.status, res.body.code]).toEqual([401, 20101]);
    } finally {
      pause.restore();
    }
    expect(await sessionsOfDevice(device.identifier)).toBeNull();
    expect(await world.redis.zcard(`user_sessions:${device.userId}`)).toBe(0);
    expect((await api.get('/me', device.token)).body.code).toBe(20101);
  });

  it('an unbind by another device of the account that commits while the login issues its session', async () => {
    const owner = await registerUser(api);
    const second = await deviceLogin(api);
    const joined = await api.post('/auth/login', { phone: owner.phone, password: PASSWORD, identifier: second.identifier, deviceSecret: second.deviceSecret });
    expect(joined.status).toBe(200);
    const pause = pauseNextIssue(app);
    try {
      const login = api.post('/auth/login', { phone: owner.phone, password: PASSWORD, identifier: second.identifier });
      await pause.reached;
      expect((await api.delete(`/me/devices/${second.identifier}`, owner.token)).status).toBe(200);
      pause.open();
      const res = await login;
      expect([res.status, res.body.code]).toEqual([401, 20102]);
    } finally {
      pause.restore();
    }
    expect(await sessionsOfDevice(second.identifier)).toBeNull();
    expect((await api.get('/me', joined.body.data.token)).body.code).toBe(20102);
  });

  it('an email binding whose fresh session races a hand-written move of the device', async () => {
    const owner = await registerUser(api);
    const stranger = await registerUser(api);
    const email = `owner-${owner.userId}@example.test`;
    await api.post('/me/email/code', { email }, owner.token);
    await api.post('/me/email/bind', { email, code: await emailCodeOf(world.redis, email, owner.userId) }, owner.token);
    const device = await deviceLogin(api);
    await api.post('/me/email/code', { email }, device.token);
    const code = await emailCodeOf(world.redis, email, device.userId);
    const pause = pauseNextIssue(app);
    try {
      const bind = api.post('/me/email/bind', { email, code }, device.token);
      await pause.reached;
      await world.sql.query('UPDATE devices SET user_id = ? WHERE identifier = ?', [stranger.userId, device.identifier]);
      await cdcSettled(app, world.sql);
      pause.open();
      expect((await bind).body.code).toBe(20101);
    } finally {
      pause.restore();
    }
    const current = await sessionsOfDevice(device.identifier);
    expect(current === null || current.userId === stranger.userId).toBe(true);
  });

  it('the socket sweep ends a session that slipped past every other check', async () => {
    const owner = await registerUser(api);
    const device = await deviceLogin(api);
    // A session filed under a user the device does not belong to, as a lost race would leave it.
    const { token } = await app.get(SessionService).issue(owner.userId, device.identifier, '-');
    const socket = await connectDevice(url, token);
    expect(await within(socket.kicked, 4000, 'kicked by the sweep')).toBe('migrated');
    expect((await api.get('/me', token)).body.code).toBe(20101);
    expect(await refusal(url, token)).toEqual({ message: 'unauthorized', code: 20101 });
    expect(await world.redis.exists(world.keys.session(sessionIdOf(token)))).toBe(0);
  });
});

/** Issue 11, break 2: a service write invalidates the row it wrote even when nothing changed. */
describe('an acknowledged write is read back', () => {
  let world: TestWorld;
  let api: Api;
  let admin: string;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ api } = await world.start());
    admin = await staffLogin(api, world.admin.phone, world.admin.password);
  });
  afterAll(() => world.close());

  it('an admin disable of a row hand-written SQL disabled already: the cache shows it, the sessions end', async () => {
    const user = await registerUser(api);
    const socket = await connectDevice(api.baseUrl, user.token);
    expect((await api.get(`/admin/app-users/${user.userId}`, admin)).body.data.status).toBe(1); // cached now
    await world.sql.query('UPDATE app_users SET status = 2 WHERE id = ?', [user.userId]); // CDC_MODE=off
    const patched = await api.patch(`/admin/app-users/${user.userId}`, { status: 2 }, admin);
    expect([patched.status, patched.body.data.status]).toEqual([200, 2]);
    expect((await api.get(`/admin/app-users/${user.userId}`, admin)).body.data.status).toBe(2);
    expect(await within(socket.kicked, 3000, 'kicked')).toBe('disabled');
    expect((await api.get('/me', user.token)).body.code).toBe(20104);
  });

  it('a nickname set to the value it already has in MySQL but not in the cache', async () => {
    const user = await registerUser(api);
    expect((await api.patch('/me', { nickname: 'Before' }, user.token)).status).toBe(200);
    expect((await api.get('/me', user.token)).body.data.nickname).toBe('Before');
    await world.sql.query("UPDATE app_users SET nickname = 'After' WHERE id = ?", [user.userId]);
    expect((await api.patch('/me', { nickname: 'After' }, user.token)).status).toBe(200);
    expect((await api.get('/me', user.token)).body.data.nickname).toBe('After');
  });
});

/** Issue 11: a cached value this service did not write is a miss, never a wrong answer or a 500. */
describe('foreign values in the cache', () => {
  let world: TestWorld;
  let api: Api;
  let url: string;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ api, url } = await world.start());
  });
  afterAll(() => world.close());

  const foreignRows = (user: { userId: number; phone?: string }): Array<[string, string]> => [
    ['a go-zero row', JSON.stringify({ Id: user.userId, Phone: { String: user.phone, Valid: true }, Nickname: 'x', Status: 1 })],
    ['text that is not JSON', 'not json'],
    ['a JSON array', '[1,2,3]'],
    ['an empty object', '{}'],
    ['JSON null', 'null'],
    [
      'a row with a field of the wrong type',
      JSON.stringify({
        id: String(user.userId),
        phone: user.phone,
        email: null,
        nickname: '',
        passwordHash: null,
        status: '1',
        referCode: 'X',
        referrerId: null,
        createdAt: '2026-01-01T00:00:00.000Z',
        updatedAt: '2026-01-01T00:00:00.000Z',
      }),
    ],
    ['a row missing a column', JSON.stringify({ id: user.userId, phone: user.phone, email: null, nickname: 'old', status: 1 })],
  ];

  async function foreignCount(): Promise<number> {
    const text = await (await fetch(`${url}/metrics`)).text();
    return Number(/^hi_cache_foreign_values_total\{entity="appUsers"\} (\d+)/m.exec(text)?.[1] ?? 0);
  }

  it.each([0, 1, 2, 3, 4, 5, 6])('GET /me answers the database row when the row key holds foreign value #%i', async (index) => {
    const user = await registerUser(api);
    const [, value] = foreignRows(user)[index];
    const key = `cache:appUsers:id:${user.userId}`;
    await world.redis.set(key, value);
    const before = await foreignCount();
    const me = await api.get('/me', user.token);
    expect(me.status).toBe(200);
    expect(me.body.data).toMatchObject({ id: user.userId, phone: user.phone, status: 1 });
    expect(JSON.parse((await world.redis.get(key)) as string)).toMatchObject({ id: user.userId, phone: user.phone });
    expect(await foreignCount()).toBe(before + 1);
  });

  it.each([
    ['garbage', 'not-an-id'],
    ['a JSON object', '{"id":1}'],
    ['zero', '0'],
  ])('login and lookup by phone work when the phone index holds %s', async (_, value) => {
    const user = await registerUser(api);
    await world.redis.set(`cache:appUsers:phone:${user.phone}`, value);
    const login = await api.post('/auth/login', { phone: user.phone, password: PASSWORD, identifier: user.identifier });
    expect([login.status, login.body.data?.userId]).toEqual([200, user.userId]);
    expect(await world.redis.get(`cache:appUsers:phone:${user.phone}`)).toBe(String(user.userId));
  });

  it('a foreign row of another entity is treated alike (a device row without its columns)', async () => {
    const device = await deviceLogin(api);
    await world.redis.set(`cache:devices:identifier:${device.identifier}`, JSON.stringify({ Identifier: device.identifier }));
    const other = await registerUser(api);
    expect((await api.delete(`/me/devices/${device.identifier}`, other.token)).body.code).toBe(20006);
    expect((await api.delete(`/me/devices/${device.identifier}`, device.token)).status).toBe(200);
  });
});
