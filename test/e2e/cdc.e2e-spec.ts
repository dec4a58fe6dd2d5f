import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ChangeCapture } from '../../src/cdc/change-capture.service';
import { CdcStatus } from '../../src/cdc/cdc-status';
import { RedisIoAdapter } from '../../src/device/redis-io.adapter';
import { PASSWORD, uniqueIdentifier, uniquePhone } from '../support/builders';
import { BinlogMariaDb, startBinlogMariaDb } from '../support/binlog-mariadb';
import { cdcSettled } from '../support/cdc';
import { registerUser } from '../support/flows';
import { Api } from '../support/http';
import { TestWorld } from '../support/test-app';
import { eventually } from '../support/wait';

const CDC = { CDC_MODE: 'binlog', CDC_HEARTBEAT_SECONDS: '1' };

/**
 * Hand-written SQL against a MariaDB with the binary log on: change capture (CDC_MODE=binlog)
 * invalidates what an operator changes in the mysql client, with no script run.
 */
describe('change capture from the binlog (CDC_MODE=binlog)', () => {
  let db: BinlogMariaDb;
  let world: TestWorld;
  let app: NestFastifyApplication;
  let api: Api;

  beforeAll(async () => {
    db = await startBinlogMariaDb();
    world = await TestWorld.create({ database: db });
    ({ app, api } = await world.start(CDC));
  });
  afterAll(async () => {
    await world?.close();
    await db?.stop();
  });

  const login = (phone: string, identifier = uniqueIdentifier()) => api.post('/auth/login', { phone, password: PASSWORD, identifier });
  const keysOf = (userId: number, phone: string) => world.redis.exists(`cache:appUsers:id:${userId}`, `cache:appUsers:phone:${phone}`);
  /** Resolves once change capture has applied (and checkpointed) everything committed so far. */
  const caughtUp = () => cdcSettled(app, world.sql);

  it('a direct DELETE of a user frees its phone: its keys go within milliseconds and the phone registers again', async () => {
    const phone = uniquePhone();
    const { userId, token } = await registerUser(api, phone);
    await caughtUp(); // the registration's own insert, replayed later, would clear the keys cached below
    expect((await login(phone)).status).toBe(200);
    await api.get('/me', token);
    expect(await keysOf(userId, phone)).toBe(2);
    const reconnects = app.get(CdcStatus).reconnects;

    await world.sql.query('DELETE FROM app_users WHERE phone = ?', [phone]);
    await eventually(
      'keys of the deleted user',
      () => keysOf(userId, phone),
      (n) => n === 0,
      2000,
    );
    // Pushed by the stream, not recovered by a reconnect.
    expect(app.get(CdcStatus).reconnects).toBe(reconnects);

    expect((await login(phone)).body.code).toBe(20003);
    const again = await api.post('/auth/register', { phone, password: PASSWORD, identifier: uniqueIdentifier() });
    expect(again.status).toBe(201);
    expect(again.body.data.userId).not.toBe(userId);
  });

  it('a direct UPDATE app_users SET status = 2 is followed by login answering 20004', async () => {
    const phone = uniquePhone();
    const { userId } = await registerUser(api, phone);
    expect((await login(phone)).status).toBe(200);
    await world.sql.query('UPDATE app_users SET status = 2 WHERE id = ?', [userId]);
    const refused = await eventually(
      'login after the disable',
      () => login(phone),
      (res) => res.status !== 200,
      2000,
    );
    expect([refused.status, refused.body.code]).toEqual([403, 20004]);
  });

  it('a direct phone change leaves the old and the new phone keys correct', async () => {
    const [oldPhone, newPhone] = [uniquePhone(), uniquePhone()];
    const { userId } = await registerUser(api, oldPhone);
    expect((await login(oldPhone)).status).toBe(200);
    expect((await login(newPhone)).body.code).toBe(20003); // caches the placeholder for the new phone
    expect(await world.redis.get(`cache:appUsers:phone:${newPhone}`)).toBe('*');

    await world.sql.query('UPDATE app_users SET phone = ? WHERE id = ?', [newPhone, userId]);
    // The keys go at the row event and again at its commit: wait for the commit, or the second
    // invalidation can remove what the logins below cache (a CI run saw exactly that).
    await caughtUp();
    expect(await world.redis.exists(`cache:appUsers:phone:${oldPhone}`, `cache:appUsers:phone:${newPhone}`, `cache:appUsers:id:${userId}`)).toBe(0);

    expect((await login(oldPhone)).body.code).toBe(20003);
    const moved = await login(newPhone);
    expect([moved.status, moved.body.data?.userId]).toEqual([200, userId]);
    expect(await world.redis.get(`cache:appUsers:phone:${newPhone}`)).toBe(String(userId));
    expect(await world.redis.get(`cache:appUsers:phone:${oldPhone}`)).toBe('*');
  });

  it('TRUNCATE of a cached table clears that table keys only', async () => {
    const phone = uniquePhone();
    const { userId } = await registerUser(api, phone);
    await caughtUp();
    await login(phone);
    await world.redis.set('cache:devices:identifier:by-hand', '{"id":1}');
    await world.sql.query('CREATE TABLE devices_copy AS SELECT * FROM devices');
    await world.sql.query('TRUNCATE TABLE devices');
    await eventually(
      'device keys',
      () => world.redis.exists('cache:devices:identifier:by-hand'),
      (n) => n === 0,
      2000,
    );
    expect(await keysOf(userId, phone)).toBe(2);
    await world.sql.query('INSERT INTO devices SELECT * FROM devices_copy; DROP TABLE devices_copy');
  });

  it('/health names the mode and shows the lag', async () => {
    const health = await eventually(
      'lag measured',
      () => api.get('/health'),
      (res) => res.body.data?.info?.cdc?.bytesBehind === 0,
      5000,
    );
    expect(health.status).toBe(200);
    expect(health.body.data.info.cdc).toMatchObject({ status: 'up', mode: 'binlog', role: 'leader', connected: true, lagSeconds: 0 });
  });

  it('after the server starts a new binlog file (a restart, FLUSH LOGS) with nothing to apply, the lag is 0, not growing', async () => {
    await caughtUp();
    await world.sql.query('FLUSH BINARY LOGS');
    const [rows] = await world.sql.query('SHOW MASTER STATUS');
    const file = (rows as Array<{ File: string }>)[0].File;
    // Nothing written to a cached table since: the applied position stays in the previous file.
    const status = app.get(CdcStatus);
    await eventually(
      'the new file seen',
      async () => status.server?.file,
      (seen) => seen === file,
      5000,
    );
    await new Promise((resolve) => setTimeout(resolve, 2500)); // two heartbeats more
    expect(status.applied?.file).not.toBe(file);
    expect(status.bytesBehind).toBe(0);
    expect(status.lagSeconds()).toBe(0);
  });

  it('a binlog connection killed by the server is reopened and nothing committed meanwhile is missed', async () => {
    const phone = uniquePhone();
    const { userId } = await registerUser(api, phone);
    await login(phone);
    const status = app.get(CdcStatus);
    const reconnects = status.reconnects;
    const [dumps] = await world.sql.query<any[]>("SELECT id FROM information_schema.processlist WHERE command LIKE 'Binlog Dump%'");
    for (const { id } of dumps) await world.sql.query(`KILL ${Number(id)}`);
    await world.sql.query('UPDATE app_users SET status = 2 WHERE id = ?', [userId]);
    await eventually(
      'login after the disable',
      () => login(phone),
      (res) => res.status === 403,
      10_000,
    );
    expect(status.reconnects).toBeGreaterThan(reconnects);
  });

  it('the listener stopped, changes made, a new listener started: every change is applied from the checkpoint', async () => {
    const users = await Promise.all([0, 1, 2].map(() => registerUser(api, uniquePhone())));
    // Capture invalidates the keys of the rows the registrations inserted, whenever it reads them:
    // let it, so that the keys the logins cache are there to go stale.
    await caughtUp();
    for (const user of users) expect((await login(user.phone!)).status).toBe(200);
    for (const user of users) expect(await keysOf(user.userId, user.phone!)).toBe(2);
    await app.close(); // the only listener: nobody tails the binlog now

    const newPhone = uniquePhone();
    await world.sql.query('DELETE FROM app_users WHERE id = ?', [users[0].userId]);
    await world.sql.query('UPDATE app_users SET status = 2 WHERE id = ?', [users[1].userId]);
    await world.sql.query('UPDATE app_users SET phone = ? WHERE id = ?', [newPhone, users[2].userId]);
    for (const user of users) expect(await keysOf(user.userId, user.phone!)).toBe(2); // stale until capture resumes

    ({ app, api } = await world.start(CDC));
    for (const user of users)
      await eventually(
        `keys of user ${user.userId}`,
        () => keysOf(user.userId, user.phone!),
        (n) => n === 0,
        5000,
      );
    expect((await login(users[0].phone!)).body.code).toBe(20003);
    expect((await login(users[1].phone!)).body.code).toBe(20004);
    expect((await login(newPhone)).body.data.userId).toBe(users[2].userId);
  });

  it('one listener among several processes; a standby takes over when the leader goes', async () => {
    const second = await world.start(CDC);
    const roles = [app.get(CdcStatus).role, second.app.get(CdcStatus).role];
    expect(roles.sort()).toEqual(['leader', 'standby']);
    const standby = second.app.get(CdcStatus).role === 'standby' ? second : { app, api };
    const leader = standby === second ? { app, api } : second;
    await leader.app.close();
    await eventually(
      'the standby takes the lock',
      async () => standby.app.get(CdcStatus).role,
      (role) => role === 'leader',
      15_000,
    );

    const phone = uniquePhone();
    const { userId } = await registerUser(standby.api, phone);
    await standby.api.post('/auth/login', { phone, password: PASSWORD, identifier: uniqueIdentifier() });
    await world.sql.query('DELETE FROM app_users WHERE id = ?', [userId]);
    await eventually(
      'keys of the deleted user',
      () => keysOf(userId, phone),
      (n) => n === 0,
      5000,
    );
    ({ app, api } = standby);
  });

  it("a standby waiting on the lock takes over within about a second of the leader's death, not at its next heartbeat", async () => {
    await eventually(
      'a leader',
      async () => app.get(CdcStatus).role,
      (role) => role === 'leader',
    );
    const standby = await world.start({ CDC_MODE: 'binlog', CDC_HEARTBEAT_SECONDS: '5' });
    expect(standby.app.get(CdcStatus).role).toBe('standby');
    // The leader's lock connection dies as it would with its process (SIGKILL, a cut network).
    const [[{ holder }]] = await world.sql.query<any[]>('SELECT IS_USED_LOCK(?) AS holder', [`hi-server:cdc:${world.dbName}`]);
    const died = Date.now();
    await world.sql.query(`KILL ${Number(holder)}`);
    await eventually(
      'the standby leads',
      async () => standby.app.get(CdcStatus).role,
      (role) => role === 'leader',
      1500,
    );
    const takeover = Date.now() - died;

    const phone = uniquePhone();
    const { userId } = await registerUser(standby.api, phone);
    await standby.api.post('/auth/login', { phone, password: PASSWORD, identifier: uniqueIdentifier() });
    await world.sql.query('DELETE FROM app_users WHERE id = ?', [userId]);
    await eventually(
      'keys of the deleted user',
      () => keysOf(userId, phone),
      (n) => n === 0,
      2000,
    );
    expect(takeover).toBeLessThan(1500);
    await standby.app.close(); // the first process waits on the lock again and leads once it is free
    await eventually(
      'the first process leads again',
      async () => app.get(CdcStatus).role,
      (role) => role === 'leader',
      3000,
    );
  });

  it('stops before the socket adapter closes, so no session it ends is kicked through closed Redis clients', async () => {
    const extra = await world.start(CDC);
    const order: string[] = [];
    const listener = extra.app.get(ChangeCapture);
    const stop = listener.beforeApplicationShutdown.bind(listener);
    jest.spyOn(listener, 'beforeApplicationShutdown').mockImplementation(async () => {
      await stop();
      order.push('change capture stopped');
    });
    const originalClose = RedisIoAdapter.prototype.close;
    const closeAdapter = jest.spyOn(RedisIoAdapter.prototype, 'close').mockImplementation(function (this: RedisIoAdapter, server) {
      order.push('socket adapter closing');
      return originalClose.call(this, server);
    });
    try {
      await extra.app.close();
    } finally {
      closeAdapter.mockRestore();
    }
    // (The adapter closes once per namespace.)
    expect([...new Set(order)]).toEqual(['change capture stopped', 'socket adapter closing']);
  });
});
