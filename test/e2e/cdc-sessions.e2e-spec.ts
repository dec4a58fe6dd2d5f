import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { PASSWORD } from '../support/builders';
import { BinlogMariaDb, startBinlogMariaDb } from '../support/binlog-mariadb';
import { cdcSettled } from '../support/cdc';
import { connectDevice, within } from '../support/device-socket';
import { deviceLogin, registerUser } from '../support/flows';
import { Api } from '../support/http';
import { TestWorld } from '../support/test-app';
import { eventually } from '../support/wait';

/**
 * Hand-written SQL that ends sessions: with change capture, a user disabled or deleted, or a device
 * deleted or moved in the mysql client is off the line at once, and its token says why.
 */
describe('change capture ends the sessions that hand-written SQL invalidates', () => {
  let db: BinlogMariaDb;
  let world: TestWorld;
  let api: Api;
  let url: string;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    db = await startBinlogMariaDb();
    world = await TestWorld.create({ database: db });
    ({ app, api, url } = await world.start({ CDC_MODE: 'binlog', CDC_HEARTBEAT_SECONDS: '1' }));
  });
  afterAll(async () => {
    await world?.close();
    await db?.stop();
  });

  it("UPDATE app_users SET status = 2 kicks the user's devices as disabled", async () => {
    const user = await registerUser(api);
    const socket = await connectDevice(url, user.token);
    await world.sql.query('UPDATE app_users SET status = 2 WHERE id = ?', [user.userId]);
    expect(await within(socket.kicked, 3000, 'kicked')).toBe('disabled');
    expect((await api.get('/me', user.token)).body.code).toBe(20104);
  });

  it('DELETE FROM app_users kicks as deleted', async () => {
    const user = await registerUser(api);
    const socket = await connectDevice(url, user.token);
    await world.sql.query('DELETE FROM app_users WHERE id = ?', [user.userId]);
    expect(await within(socket.kicked, 3000, 'kicked')).toBe('deleted');
  });

  it('UPDATE devices SET user_id moves the device: kicked as migrated, old token 20101', async () => {
    const owner = await registerUser(api);
    const device = await deviceLogin(api);
    const socket = await connectDevice(url, device.token);
    await world.sql.query('UPDATE devices SET user_id = ? WHERE identifier = ?', [owner.userId, device.identifier]);
    expect(await within(socket.kicked, 3000, 'kicked')).toBe('migrated');
    expect((await api.get('/me', device.token)).body.code).toBe(20101);
  });

  it('DELETE FROM devices kicks as unbound', async () => {
    const device = await deviceLogin(api);
    const socket = await connectDevice(url, device.token);
    await world.sql.query('DELETE FROM devices WHERE identifier = ?', [device.identifier]);
    expect(await within(socket.kicked, 3000, 'kicked')).toBe('unbound');
  });

  // The token is what decides these: a connected socket would also be found by the sweep, a token alone only by change capture.
  it.each([
    {
      what: 'UPDATE devices SET identifier renames the device',
      sql: "UPDATE devices SET identifier = CONCAT(identifier, '-renamed') WHERE identifier = ?",
      code: 20102,
      reason: 'unbound',
    },
    { what: 'UPDATE app_users SET id gives the user another id', sql: 'UPDATE app_users SET id = id + 1000000 WHERE id = ?', code: 20104, reason: 'deleted' },
    {
      what: "UPDATE devices SET secret_for = 'signed_out' signs the device out",
      sql: "UPDATE devices SET secret_for = 'signed_out' WHERE identifier = ?",
      code: 20107,
      reason: 'signed_out',
    },
  ])('$what: token $code, kicked $reason', async ({ sql, code, reason }) => {
    const device = await deviceLogin(api);
    const socket = await connectDevice(url, device.token);
    await world.sql.query(sql, [sql.startsWith('UPDATE app_users') ? device.userId : device.identifier]);
    await cdcSettled(app, world.sql);
    expect((await api.get('/me', device.token)).body.code).toBe(code);
    expect(await within(socket.kicked, 3000, 'kicked')).toBe(reason);
  });

  it('UPDATE app_users SET password_hash ends every session of the account: kicked password_changed, 20106', async () => {
    const user = await registerUser(api);
    const second = await api.post('/auth/login', { phone: user.phone, password: PASSWORD, identifier: `${user.identifier}-2` });
    const socket = await connectDevice(url, user.token);
    await world.sql.query("UPDATE app_users SET password_hash = 'set-by-hand' WHERE id = ?", [user.userId]);
    expect(await within(socket.kicked, 3000, 'kicked')).toBe('password_changed');
    expect((await api.get('/me', user.token)).body.code).toBe(20106);
    expect((await api.get('/me', second.body.data.token)).body.code).toBe(20106);
  });

  it("a change through the service's own PUT /me/password keeps the caller's session once change capture applies it", async () => {
    const user = await registerUser(api);
    const changed = await api.put('/me/password', { currentPassword: PASSWORD, newPassword: 'changed-by-me-1' }, user.token);
    expect(changed.status).toBe(200);
    await cdcSettled(app, world.sql);
    expect((await api.get('/me', user.token)).status).toBe(200);
  });

  it('a timed disable written by hand kicks the devices (disabled) and ends by itself', async () => {
    const user = await registerUser(api);
    const socket = await connectDevice(url, user.token);
    await world.sql.query('UPDATE app_users SET status = 2, disabled_until = UTC_TIMESTAMP(3) + INTERVAL 1500000 MICROSECOND WHERE id = ?', [user.userId]);
    expect(await within(socket.kicked, 3000, 'kicked')).toBe('disabled');
    const login = () => api.post('/auth/login', { phone: user.phone, password: PASSWORD, identifier: user.identifier });
    expect((await login()).body.code).toBe(20004);
    await eventually('enabled again', login, (res) => res.status === 200, 5000);
    const [row] = (await world.sql.query('SELECT status, disabled_until FROM app_users WHERE id = ?', [user.userId]))[0] as Array<{
      status: number;
      disabled_until: Date | null;
    }>;
    expect([row.status, row.disabled_until]).toEqual([1, null]);
  });

  it('a device that joins another account through the service keeps the new session it was given', async () => {
    const account = await registerUser(api);
    const device = await deviceLogin(api);
    const joined = await api.post('/auth/login', {
      phone: account.phone,
      password: PASSWORD,
      identifier: device.identifier,
      deviceSecret: device.deviceSecret,
    });
    expect(joined.status).toBe(200);
    const socket = await connectDevice(url, joined.body.data.token);
    // Change capture has applied the move of the device row (a wrongful kick would be sent by now);
    // a moment more for such a kick to cross the socket.
    await cdcSettled(app, world.sql);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await api.get('/me', joined.body.data.token)).status).toBe(200);
    expect(socket.events).toEqual([]);
    socket.close();
  });

  // Last: it empties the tables under every other test of this file.
  it('TRUNCATE app_users ends every session at once, also one whose user id a new account took meanwhile', async () => {
    const gone = await registerUser(api);
    const socket = await connectDevice(url, gone.token);
    await world.sql.query('TRUNCATE app_users');
    await cdcSettled(app, world.sql);
    expect((await api.get('/me', gone.token)).body.code).toBe(20104);
    expect(await within(socket.kicked, 3000, 'kicked')).toBe('deleted');

    // AUTO_INCREMENT starts again: the next account takes id 1, the id of the first one after the
    // TRUNCATE. A token of that first one must not act as the second, even before change capture
    // has applied the second TRUNCATE.
    const first = await registerUser(api);
    expect(first.userId).toBe(1);
    await world.sql.query('TRUNCATE app_users');
    const second = await registerUser(api);
    expect(second.userId).toBe(1);
    await cdcSettled(app, world.sql);
    const me = await api.get('/me', first.token);
    expect([me.status, me.body.data]).toEqual([401, undefined]);
    expect((await api.patch('/me', { nickname: 'not yours' }, first.token)).status).toBe(401);
    expect((await api.get('/me', second.token)).body.data).toEqual(
      expect.objectContaining({ id: 1, phone: second.phone, nickname: expect.not.stringMatching('not yours') }),
    );
  });
});
