import type { INestApplication } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppUser } from '../../src/app-user/app-user.entity';
import { AppUserRepository } from '../../src/app-user/app-user.repository';
import { Device } from '../../src/device/device.entity';
import { DeviceRepository } from '../../src/device/device.repository';
import { OaUserRepository } from '../../src/oa-user/oa-user.repository';
import { uniqueEmail, uniqueIdentifier, uniquePhone } from '../support/builders';
import { TestWorld } from '../support/test-app';

/** The CacheInvalidation subscriber on the real MariaDB and Redis: every write path, after commit. */
describe('cache invalidation after commit', () => {
  let world: TestWorld;
  let app: INestApplication;
  let users: AppUserRepository;
  let devices: DeviceRepository;
  let dataSource: DataSource;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ app } = await world.start());
    users = app.get(AppUserRepository);
    devices = app.get(DeviceRepository);
    dataSource = app.get(DataSource);
  });
  afterAll(() => world.close());

  const create = (fields: Partial<AppUser> = {}) => dataSource.transaction((m) => users.create(m, { phone: uniquePhone(), email: uniqueEmail(), ...fields }));
  const cached = (...keys: string[]) => Promise.all(keys.map((k) => world.redis.get(k)));

  it('an insert clears the placeholder cached for its phone', async () => {
    const phone = uniquePhone();
    expect(await users.findByPhone(phone)).toBeNull();
    expect(await world.redis.get(`cache:appUsers:phone:${phone}`)).toBe('*');
    const user = await create({ phone });
    expect(await world.redis.get(`cache:appUsers:phone:${phone}`)).toBeNull();
    expect((await users.findByPhone(phone))?.id).toBe(user.id);
  });

  it('an update removes the keys of the old and the new values', async () => {
    const user = await create();
    const oldPhone = user.phone as string;
    const newPhone = uniquePhone();
    await users.findByPhone(oldPhone);
    await users.findByPhone(newPhone); // placeholder for the phone the row is about to take
    await users.findByEmail(user.email as string);
    expect(await cached(`cache:appUsers:id:${user.id}`, `cache:appUsers:phone:${oldPhone}`, `cache:appUsers:phone:${newPhone}`)).toEqual([
      expect.any(String),
      String(user.id),
      '*',
    ]);
    const row = (await users.findById(user.id)) as AppUser;
    row.phone = newPhone;
    await users.save(row);
    expect(
      await cached(
        `cache:appUsers:id:${user.id}`,
        `cache:appUsers:phone:${oldPhone}`,
        `cache:appUsers:phone:${newPhone}`,
        `cache:appUsers:email:${user.email}`,
      ),
    ).toEqual([null, null, null, null]);
    expect(await users.findByPhone(oldPhone)).toBeNull();
    expect((await users.findByPhone(newPhone))?.id).toBe(user.id);
  });

  it('a remove clears every key of the row (afterRemove has no id: the database entity is used)', async () => {
    const user = await create();
    await users.findByPhone(user.phone as string);
    await users.findByEmail(user.email as string);
    await users.remove((await users.findById(user.id)) as AppUser);
    expect(await cached(`cache:appUsers:id:${user.id}`, `cache:appUsers:phone:${user.phone}`, `cache:appUsers:email:${user.email}`)).toEqual([
      null,
      null,
      null,
    ]);
    expect(await users.findById(user.id)).toBeNull();
  });

  it('invalidates only after COMMIT: a reader during the uncommitted delete cannot leave the old row cached', async () => {
    const user = await create();
    const runner = dataSource.createQueryRunner();
    await runner.startTransaction();
    try {
      await runner.manager.getRepository(AppUser).remove(await runner.manager.getRepository(AppUser).findOneByOrFail({ id: user.id }));
      // Not yet committed: a reader still sees the committed row and caches it; nothing was invalidated yet.
      expect((await users.findById(user.id))?.id).toBe(user.id);
      expect(await world.redis.get(`cache:appUsers:id:${user.id}`)).not.toBeNull();
      const [{ n }] = await runner.query('SELECT COUNT(*) AS n FROM cache_invalidations');
      expect(Number(n)).toBe(0); // the outbox row is written at commit time
      await runner.commitTransaction();
    } finally {
      await runner.release();
    }
    expect(await world.redis.get(`cache:appUsers:id:${user.id}`)).toBeNull();
    expect(await users.findById(user.id)).toBeNull();
    expect(await app.get(DataSource).query('SELECT COUNT(*) AS n FROM cache_invalidations')).toEqual([{ n: '0' }]);
  });

  it('a rolled-back transaction invalidates nothing and leaves no outbox row', async () => {
    const user = await create();
    await users.findById(user.id);
    await expect(
      dataSource.transaction(async (m) => {
        const row = await users.lockById(m, user.id);
        (row as AppUser).nickname = 'never';
        await users.save(row as AppUser, m);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(JSON.parse((await world.redis.get(`cache:appUsers:id:${user.id}`)) as string).nickname).toBe('');
    expect(await dataSource.query('SELECT COUNT(*) AS n FROM cache_invalidations')).toEqual([{ n: '0' }]);
  });

  it('devices: moving devices to another user invalidates each device key after commit', async () => {
    const from = await create();
    const to = await create();
    const identifier = uniqueIdentifier();
    await dataSource.transaction((m) => devices.attachToUser(m, { identifier }, { id: from.id, pw: '-' }));
    expect((await devices.findByIdentifier(identifier))?.userId).toBe(from.id);
    await dataSource.transaction((m) => devices.moveDevicesToUser(m, from.id, to.id, '-'));
    expect(await world.redis.get(`cache:devices:identifier:${identifier}`)).toBeNull();
    expect((await devices.findByIdentifier(identifier))?.userId).toBe(to.id);
    await devices.remove((await dataSource.getRepository(Device).findOneByOrFail({ identifier })) as Device);
    expect(await devices.findByIdentifier(identifier)).toBeNull();
  });

  it('oa users: a phone change removes both phone keys', async () => {
    const staff = app.get(OaUserRepository);
    const phone = uniquePhone();
    const created = await staff.create({ phone, name: 'x', passwordHash: 'h', role: 'operator' });
    await staff.findByPhone(phone);
    const row = (await staff.findById(created.id))!;
    const next = uniquePhone();
    row.phone = next;
    await staff.save(row);
    expect(await cached(`cache:oaUsers:phone:${phone}`, `cache:oaUsers:id:${created.id}`)).toEqual([null, null]);
    expect(await staff.findByPhone(phone)).toBeNull();
    expect((await staff.findByPhone(next))?.id).toBe(created.id);
  });
});
