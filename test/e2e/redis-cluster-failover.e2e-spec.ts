import { PASSWORD, uniqueIdentifier } from '../support/builders';
import { connectDevice, DeviceConnection } from '../support/device-socket';
import { phoneLogin, registerUser, staffLogin } from '../support/flows';
import { Api, ApiResponse } from '../support/http';
import { OwnCluster, startRedisCluster } from '../support/redis-cluster';
import { TestWorld } from '../support/test-app';
import { eventually } from '../support/wait';

/**
 * Issue 15: a master of the Redis Cluster dies (SIGKILL) while two processes serve writes and
 * kicks. Until its replica is promoted, requests for its slots answer 503 / 100007 and never a
 * wrong answer; afterwards no cached row contradicts MySQL and no ended session lives on.
 */
describe('a Redis Cluster master fails over during writes and kicks', () => {
  let cluster: OwnCluster;
  let world: TestWorld;
  let one: Api;
  let two: Api;
  let url2: string;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    world = await TestWorld.create({ redisCluster: cluster.nodeList });
    ({ api: one } = await world.start({ SOCKET_SWEEP_SECONDS: '1' }));
    ({ api: two, url: url2 } = await world.start({ SOCKET_SWEEP_SECONDS: '1' }));
  }, 120_000);
  afterAll(async () => {
    await world?.close();
    await cluster?.destroy();
  });

  /** Every answer is right or an honest 503 / 100007; anything else is recorded as wrong. */
  const wrong: string[] = [];
  let unavailable = 0;
  function check(what: string, res: ApiResponse, ok: (res: ApiResponse) => boolean): boolean {
    if (res.status === 503 && res.body.code === 100007) {
      unavailable += 1;
      return false;
    }
    if (!ok(res)) wrong.push(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
    return ok(res);
  }

  it('answers 503 while a slot has no master, never a wrong answer; after the failover no stale entry and no zombie session', async () => {
    const users = await Promise.all(Array.from({ length: 12 }, () => registerUser(one)));
    const acked = new Map<number, number>(); // the last round whose nickname each user was told is saved
    const roundOf = (nickname: string) => Number(/^n(\d+)-/.exec(nickname)?.[1] ?? -1);
    // Devices of each user's account, each with a socket on process 2: some will be unbound.
    const devices: Array<{ userId: number; token: string; identifier: string; socket: DeviceConnection; unbound: 'yes' | 'no' | 'maybe' }> = [];
    for (const user of users.slice(0, 8)) {
      const identifier = uniqueIdentifier();
      const login = await phoneLogin(one, user.phone!, identifier);
      devices.push({ userId: user.userId, token: login.body.data.token, identifier, socket: await connectDevice(url2, login.body.data.token), unbound: 'no' });
    }

    let stop = false;
    const writer = (async () => {
      for (let round = 0; !stop; round += 1) {
        await Promise.all(
          users.map(async (user, i) => {
            const nickname = `n${round}-${i}`;
            const api = round % 2 === 0 ? one : two;
            const res = await api.patch('/me', { nickname }, user.token);
            if (check('PATCH /me', res, (r) => r.status === 200 && r.body.data.nickname === nickname)) acked.set(user.userId, round);
            const saved = acked.get(user.userId) ?? -1;
            const read = await api.get('/me', user.token);
            // A read shows the last saved nickname or a later one (a write that committed and answered 503): never an older one.
            check('GET /me', read, (r) => r.status === 200 && roundOf(r.body.data.nickname) >= saved);
          }),
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();

    // Kill the master of the slot of one of the keys in use, in the middle of the traffic.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const masters = await cluster.masters();
    await cluster.kill(masters[0]);

    // Unbind devices while the cluster fails over: answered 200, or 503 (the change may have committed).
    for (const device of devices) {
      const owner = users.find((u) => u.userId === device.userId)!;
      const res = await two.delete(`/me/devices/${device.identifier}`, owner.token);
      device.unbound = check('DELETE /me/devices', res, (r) => r.status === 200) ? 'yes' : 'maybe';
      await new Promise((resolve) => setTimeout(resolve, 300));
    }

    // The replica takes the dead master's slots; the cluster serves every slot again.
    await eventually(
      'the failover',
      async () => (await one.get('/health')).status,
      (status) => status === 200,
      20_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    stop = true;
    await writer;
    expect(wrong).toEqual([]);
    expect(unavailable).toBeGreaterThan(0); // the outage was felt: the test is not vacuous

    // No stale entry: each user reads what MySQL holds, and the audit finds nothing to repair.
    for (const user of users) {
      const [[row]] = (await world.sql.query('SELECT nickname FROM app_users WHERE id = ?', [user.userId])) as unknown as [[{ nickname: string }]];
      expect((await one.get('/me', user.token)).body.data.nickname).toBe(row.nickname);
      expect(roundOf(row.nickname)).toBeGreaterThanOrEqual(acked.get(user.userId) ?? -1);
    }
    const admin = await staffLogin(one, world.admin.phone, world.admin.password);
    const audit = await one.get('/admin/cache/audit?scope=all', admin);
    expect([audit.status, audit.body.data.stale]).toEqual([200, []]);

    // No zombie session: every device whose row is gone (unbound, acknowledged or not) is off the line.
    for (const device of devices) {
      const [rows] = (await world.sql.query('SELECT 1 FROM devices WHERE identifier = ?', [device.identifier])) as unknown as [unknown[]];
      if (rows.length > 0) {
        expect(device.unbound).not.toBe('yes');
        continue;
      }
      await eventually(
        `the session of unbound device ${device.identifier}`,
        async () => (await two.get('/me', device.token)).body.code,
        (code) => code === 20102,
        10_000,
      );
      await eventually(
        `the socket of unbound device ${device.identifier}`,
        async () => device.socket.socket.connected,
        (connected) => !connected,
        10_000,
      );
    }
    expect(devices.filter((d) => d.unbound === 'yes').length).toBeGreaterThan(0);
    // Logins work on every slot again.
    expect((await phoneLogin(two, users[0].phone!, uniqueIdentifier(), { password: PASSWORD })).status).toBe(200);
  }, 120_000);
});
