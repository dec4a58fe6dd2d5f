import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { CacheAsideService, RowCodec } from '../cache/cache-aside.service';
import { CacheInvalidationSubscriber } from '../cache/cache-invalidation.subscriber';
import { CacheKeys } from '../cache/cache-keys';
import { entityCodec } from '../cache/row-codec';
import { OaUser } from './oa-user.entity';

/** Staff rows: cached reads, entity writes (the subscriber invalidates after commit). */
@Injectable()
export class OaUserRepository {
  private readonly codec: RowCodec<OaUser>;

  constructor(
    @InjectRepository(OaUser) private readonly repo: Repository<OaUser>,
    private readonly cache: CacheAsideService,
    private readonly invalidation: CacheInvalidationSubscriber,
  ) {
    this.codec = entityCodec('oaUsers', repo.metadata);
  }

  findById(id: number): Promise<OaUser | null> {
    return this.cache.getRow(CacheKeys.oaUserId(id), this.codec, () => this.repo.findOneBy({ id }));
  }

  findByPhone(phone: string): Promise<OaUser | null> {
    return this.cache.getByIndex(CacheKeys.oaUserPhone(phone), this.codec, {
      rowKey: CacheKeys.oaUserId,
      idOf: (row) => row.id,
      loadByIndex: () => this.repo.findOneBy({ phone }),
      loadById: (id) => this.repo.findOneBy({ id: Number(id) }),
    });
  }

  findAll(): Promise<OaUser[]> {
    return this.repo.find({ order: { id: 'ASC' } });
  }

  create(fields: Pick<OaUser, 'phone' | 'name' | 'passwordHash' | 'role'>): Promise<OaUser> {
    return this.repo.save(this.repo.create(fields));
  }

  /** Reads the row for a change, bypassing the cache, inside the caller's transaction. */
  lockById(manager: EntityManager, id: number): Promise<OaUser | null> {
    return manager.getRepository(OaUser).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  /** The same by phone: the CLI's reset of a staff user it knows by phone only. */
  lockByPhone(manager: EntityManager, phone: string): Promise<OaUser | null> {
    return manager.getRepository(OaUser).findOne({ where: { phone }, lock: { mode: 'pessimistic_write' } });
  }

  /** Whether a phone is taken, read from the database inside the caller's transaction (never the cache). */
  phoneTaken(manager: EntityManager, phone: string): Promise<boolean> {
    return manager.getRepository(OaUser).existsBy({ phone });
  }

  async save(user: OaUser, manager: EntityManager = this.repo.manager): Promise<OaUser> {
    const saved = await manager.getRepository(OaUser).save(user);
    await this.invalidation.written(manager, OaUser, [saved]);
    return saved;
  }
}
