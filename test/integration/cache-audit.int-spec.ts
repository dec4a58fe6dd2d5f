import { DataSource } from 'typeorm';
import { CacheAudit } from '../../src/admin/cache-audit';
import { AppUser } from '../../src/app-user/app-user.entity';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { Device } from '../../src/device/device.entity';
import { OaUser } from '../../src/oa-user/oa-user.entity';
import { uniqueEmail, uniqueIdentifier, uniquePhone } from '../support/builders';
import { TestWorld } from '../support/test-app';

/**
 * CacheAudit against the real MariaDB and Redis: each kind of stale entry, made the way an
 * operator's hand-written SQL makes it, is found with its reason; fresh entries never are.
 */
describe('CacheAudit', () => {
  let world: TestWorld;
  let db: DataSource;
  let audit: CacheAudit;

  beforeAll(async () => {
    world = await TestWorld.create();
    await world.start(); // creates the database and runs the migrations
    db = new DataSource(dataSourceOptions(world.config()));
    await db.initialize();
    audit = new CacheAudit(world.redis, db);
  });
  afterAll(async () => {
    await db?.destroy();
    await world.close();
  });
  beforeEach(() => world.redis.flushdb());

  async function newAppUser(fields: Partial<AppUser> = {}): Promise<AppUser> {
    const repo = db.getRepository(AppUser);
    const saved = await repo.save(repo.create({ phone: uniquePhone(), email: uniqueEmail(), referCode: uniqueIdentifier('r').slice(0, 16), ...fields }));
    return repo.findOneByOrFail({ id: saved.id });
  }

  /** What CacheAsideService would cache for the row now. */
  async function cacheAppUser(user: AppUser): Promise<void> {
    await world.redis.mset(`cache:appUsers:id:${user.id}`, JSON.stringify(user), `cache:appUsers:phone:${user.phone}`, String(user.id));
    if (user.email) await world.redis.set(`cache:appUsers:email:${user.email}`, String(user.id));
  }

  it('finds nothing in a cache that agrees with the database, across all families', async () => {
    const users = [await newAppUser(), await newAppUser({ email: null })];
    for (const u of users) await cacheAppUser(u);
    const staffRepo = db.getRepository(OaUser);
    const staff = await staffRepo.findOneByOrFail({
      id: (await staffRepo.save(staffRepo.create({ phone: uniquePhone(), passwordHash: 'x', role: 'operator' }))).id,
    });
    await world.redis.mset(`cache:oaUsers:id:${staff.id}`, JSON.stringify(staff), `cache:oaUsers:phone:${staff.phone}`, String(staff.id));
    const deviceRepo = db.getRepository(Device);
    const device = await deviceRepo.findOneByOrFail({
      id: (await deviceRepo.save(deviceRepo.create({ identifier: uniqueIdentifier(), userId: users[0].id }))).id,
    });
    await world.redis.set(`cache:devices:identifier:${device.identifier}`, JSON.stringify(device));
    await world.redis.mset(`cache:appUsers:phone:${uniquePhone()}`, '*', 'cache:appUsers:id:999999', '*', 'session:abc', '{}');

    const report = await audit.run();
    expect(report.stale).toEqual([]);
    expect(report.scanned).toBe((await world.redis.keys('cache:*')).length);
    expect(report.unknown).toBe(0);
  });

  it('reports each kind of stale entry with its reason, and only those', async () => {
    const fresh = await newAppUser();
    await cacheAppUser(fresh);

    const edited = await newAppUser();
    await cacheAppUser(edited);
    await world.sql.query('UPDATE app_users SET nickname = ?, status = 2 WHERE id = ?', ['by-hand', edited.id]);

    const deleted = await newAppUser();
    await cacheAppUser(deleted);
    await world.sql.query('DELETE FROM app_users WHERE id = ?', [deleted.id]);

    const moved = await newAppUser();
    const taker = await newAppUser();
    await world.redis.set(`cache:appUsers:phone:${moved.phone}`, String(moved.id));
    await world.sql.query('UPDATE app_users SET phone = NULL WHERE id = ?', [moved.id]);
    await world.sql.query('UPDATE app_users SET phone = ? WHERE id = ?', [moved.phone, taker.id]);

    const late = await newAppUser();
    await world.redis.mset(`cache:appUsers:phone:${late.phone}`, '*', `cache:appUsers:id:${late.id}`, '*');
    await world.redis.set('cache:appUsers:id:notanid', 'x');

    const report = await audit.run({ scope: 'appUsers' });
    expect(report.stale).toEqual(
      [
        { key: `cache:appUsers:id:${edited.id}`, reason: 'row_differs', detail: 'differs in nickname, status' },
        { key: `cache:appUsers:id:${deleted.id}`, reason: 'row_gone', detail: 'no such row in the database' },
        { key: `cache:appUsers:phone:${deleted.phone}`, reason: 'row_gone', detail: `points at ${deleted.id}; no row has this phone` },
        { key: `cache:appUsers:email:${deleted.email}`, reason: 'row_gone', detail: `points at ${deleted.id}; no row has this email` },
        { key: `cache:appUsers:phone:${moved.phone}`, reason: 'index_wrong_id', detail: `points at ${moved.id}; the database has ${taker.id}` },
        { key: `cache:appUsers:phone:${late.phone}`, reason: 'placeholder_for_existing_row', detail: `the database has row ${late.id}` },
        { key: `cache:appUsers:id:${late.id}`, reason: 'placeholder_for_existing_row', detail: 'the database has this row' },
      ].sort((a, b) => a.key.localeCompare(b.key)),
    );
    expect(report.staleByReason).toEqual({ row_differs: 1, row_gone: 3, index_wrong_id: 1, placeholder_for_existing_row: 2 });
    expect(report.unknown).toBe(1);
    expect(report.repaired).toBe(0);
    expect(await world.redis.exists(...report.stale.map((s) => s.key))).toBe(report.stale.length);
  });

  it('finds stale OaUser and Device rows too', async () => {
    const staffRepo = db.getRepository(OaUser);
    const staff = await staffRepo.findOneByOrFail({
      id: (await staffRepo.save(staffRepo.create({ phone: uniquePhone(), passwordHash: 'x', role: 'operator' }))).id,
    });
    await world.redis.set(`cache:oaUsers:id:${staff.id}`, JSON.stringify(staff));
    await world.sql.query(`UPDATE oa_users SET role = 'admin' WHERE id = ?`, [staff.id]);
    const deviceRepo = db.getRepository(Device);
    const device = await deviceRepo.findOneByOrFail({ id: (await deviceRepo.save(deviceRepo.create({ identifier: uniqueIdentifier(), userId: 1 }))).id });
    await world.redis.set(`cache:devices:identifier:${device.identifier}`, JSON.stringify(device));
    await world.sql.query('UPDATE devices SET user_id = 2 WHERE id = ?', [device.id]);

    const report = await audit.run();
    expect(report.stale.map((s) => [s.key, s.reason, s.detail])).toEqual([
      [`cache:devices:identifier:${device.identifier}`, 'row_differs', 'differs in userId'],
      [`cache:oaUsers:id:${staff.id}`, 'row_differs', 'differs in role'],
    ]);
    expect((await audit.run({ scope: 'devices' })).stale.map((s) => s.key)).toEqual([`cache:devices:identifier:${device.identifier}`]);
  });

  it('repair deletes the stale entries and their leases, leaves fresh ones, and spares a key refilled since it was read', async () => {
    const fresh = await newAppUser();
    await cacheAppUser(fresh);
    const gone = await newAppUser();
    await cacheAppUser(gone);
    await world.redis.set(world.keys.lease(`cache:appUsers:id:${gone.id}`), 'a-filler');
    await world.sql.query('DELETE FROM app_users WHERE id = ?', [gone.id]);
    const refilled = await newAppUser();
    await world.redis.set(`cache:appUsers:id:${refilled.id}`, '*');

    // A reader refills the placeholder between the audit's read and its repair.
    const redis = world.redis;
    // The audit reads a step's values with one MGET, or on a cluster one GET per key.
    const read = world.onCluster ? 'get' : 'mget';
    const original = (redis[read] as (...keys: string[]) => Promise<unknown>).bind(redis);
    const refilledKey = `cache:appUsers:id:${refilled.id}`;
    const spy = jest.spyOn(redis, read).mockImplementation((async (...keys: string[]) => {
      const values = await original(...keys);
      if (keys.flat().includes(refilledKey)) await redis.set(refilledKey, JSON.stringify(refilled));
      return values;
    }) as never);
    let report;
    try {
      report = await audit.run({ scope: 'appUsers', repair: true });
    } finally {
      spy.mockRestore();
    }
    expect(report.stale.map((s) => s.key).sort()).toEqual(
      [`cache:appUsers:id:${gone.id}`, `cache:appUsers:phone:${gone.phone}`, `cache:appUsers:email:${gone.email}`, `cache:appUsers:id:${refilled.id}`].sort(),
    );
    expect(report.repaired).toBe(3);
    expect(await world.redis.exists(`cache:appUsers:id:${gone.id}`, `cache:appUsers:phone:${gone.phone}`, `cache:appUsers:email:${gone.email}`)).toBe(0);
    expect(await world.redis.exists(world.keys.lease(`cache:appUsers:id:${gone.id}`))).toBe(0);
    expect(await world.redis.get(`cache:appUsers:id:${refilled.id}`)).toBe(JSON.stringify(refilled));
    expect(await world.redis.exists(`cache:appUsers:id:${fresh.id}`, `cache:appUsers:phone:${fresh.phone}`)).toBe(2);
    expect((await audit.run({ scope: 'appUsers' })).stale).toEqual([]);
  });

  it('walks a keyspace larger than one batch', async () => {
    const keys = Array.from({ length: 5000 }, (_, i) => `cache:appUsers:id:${900000 + i}`);
    await world.redis.mset(...keys.flatMap((k) => [k, '*']));
    const report = await audit.run({ scope: 'appUsers' });
    expect(report.scanned).toBe(5000);
    expect(report.stale).toEqual([]);
  });
});
