import { connectDevice, within } from '../support/device-socket';
import { deviceLogin, registerUser } from '../support/flows';
import { Api } from '../support/http';
import { ServerProcess, spawnHiServer } from '../support/server-process';
import { TestWorld } from '../support/test-app';
import { sessionIdOf } from '../../src/session/token';

/** Two server processes behind one Redis share kicks (CONTRACT section 5). */
describe('kicks across server processes', () => {
  let world: TestWorld;
  let api1: Api;
  let second: ServerProcess;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ api: api1 } = await world.start());
    second = await spawnHiServer(world.env({ SOCKET_SWEEP_SECONDS: '1' }));
    world.onClose(() => second.stop());
  });
  afterAll(() => world.close());

  it('a device connected to process 2 is kicked by a request served by process 1', async () => {
    const owner = await registerUser(api1);
    const device = await deviceLogin(api1);
    const socket = await connectDevice(second.url, device.token);
    const logout = await api1.post('/auth/logout', {}, device.token);
    expect(logout.status).toBe(200);
    expect(await within(socket.kicked, 2000, 'kicked on process 2')).toBe('logout');
    await within(socket.closed, 2000, 'closed on process 2');
    expect(owner.userId).toBeGreaterThan(0);
  });

  it('a device connected to process 1 is kicked by an unbind served by process 2', async () => {
    const api2 = new Api(second.url);
    const owner = await deviceLogin(api2);
    // The owner's account gains the device by logging it in to the owner's phone account.
    const account = await registerUser(api2);
    const extra = await api2.post('/auth/login', {
      phone: account.phone,
      password: 'correct-horse-9',
      identifier: owner.identifier,
      deviceSecret: owner.deviceSecret,
    });
    expect(extra.status).toBe(200);
    const url1 = api1.baseUrl;
    const socket = await connectDevice(url1, extra.body.data.token);
    const removed = await api2.delete(`/me/devices/${owner.identifier}`, account.token);
    expect(removed.status).toBe(200);
    expect(await within(socket.kicked, 2000, 'kicked on process 1')).toBe('unbound');
  });

  it('a kick whose Pub/Sub message was lost is healed by the sweep within SOCKET_SWEEP_SECONDS', async () => {
    const device = await deviceLogin(api1);
    const socket = await connectDevice(second.url, device.token);
    // Revoke behind the servers' backs: the session entries go, no process announces a kick.
    const sid = sessionIdOf(device.token);
    await world.redis.multi().set(world.keys.revoked(sid), 'unbound', 'EX', 600).del(world.keys.session(sid)).exec();
    await world.redis.del(`device:session:${device.identifier}`);
    await world.redis.zrem(`user_sessions:${device.userId}`, sid);
    expect(await within(socket.kicked, 3500, 'healed by the sweep')).toBe('unbound');
  });
});
