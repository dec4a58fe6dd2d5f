import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { AppUser } from '../../src/app-user/app-user.entity';
import { AppUserRepository } from '../../src/app-user/app-user.repository';
import { CacheAsideService, RowCodec } from '../../src/cache/cache-aside.service';
import { CacheKeys } from '../../src/cache/cache-keys';
import { entityCodec } from '../../src/cache/row-codec';
import { uniquePhone } from '../support/builders';
import { TestWorld } from '../support/test-app';

/**
 * Misses on one key share one query per process, but a miss that arrives after a change's
 * invalidation must not be handed the row a load read before the change ("the next GET /me shows it").
 */
describe('coalesced misses and invalidation', () => {
  let world: TestWorld;
  let app: NestFastifyApplication;
  let cache: CacheAsideService;
  let codec: RowCodec<AppUser>;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ app } = await world.start());
    cache = app.get(CacheAsideService);
    codec = entityCodec('appUsers', app.get(DataSource).getMetadata(AppUser));
  });
  afterAll(() => world.close());

  it('concurrent misses share one query', async () => {
    const rows = app.get(DataSource).getRepository(AppUser);
    const user = await app.get(DataSource).transaction((m) => app.get(AppUserRepository).create(m, { phone: uniquePhone() }));
    let queries = 0;
    const load = async () => {
      queries += 1;
      await new Promise((resolve) => setTimeout(resolve, 50));
      return rows.findOneBy({ id: user.id });
    };
    const results = await Promise.all([...Array(5)].map(() => cache.getRow(CacheKeys.appUserId(user.id), codec, load)));
    expect(queries).toBe(1);
    expect(results.every((r) => r?.id === user.id)).toBe(true);
  });

  it('a miss after an invalidation does not join a load that read the row before the change', async () => {
    const dataSource = app.get(DataSource);
    const users = app.get(AppUserRepository);
    const user = await dataSource.transaction((m) => users.create(m, { phone: uniquePhone() }));
    const key = CacheKeys.appUserId(user.id);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let readDone!: () => void;
    const read = new Promise<void>((resolve) => (readDone = resolve));

    const slow = cache.getRow(key, codec, async () => {
      const row = await dataSource.getRepository(AppUser).findOneBy({ id: user.id });
      readDone();
      await held; // the load has read the old row and is paused before its fill
      return row;
    });
    await read;
    const row = await dataSource.getRepository(AppUser).findOneByOrFail({ id: user.id });
    row.nickname = 'after';
    await users.save(row); // commits, then invalidates the key and its lease

    const late = cache.getRow(key, codec, () => dataSource.getRepository(AppUser).findOneBy({ id: user.id }));
    release();
    expect((await slow)?.nickname).toBe(''); // the slow reader began before the change
    expect((await late)?.nickname).toBe('after');
    expect(JSON.parse((await world.redis.get(key)) ?? 'null')?.nickname ?? 'after').toBe('after');
  });
});
