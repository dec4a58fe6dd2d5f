import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomInt } from 'crypto';
import { EntityManager, MoreThan, Repository } from 'typeorm';
import { CacheAsideService, RowCodec } from '../cache/cache-aside.service';
import { CacheInvalidationSubscriber } from '../cache/cache-invalidation.subscriber';
import { CacheKeys } from '../cache/cache-keys';
import { entityCodec } from '../cache/row-codec';
import { AppUser } from './app-user.entity';
import { UserStatus } from '../common/user-status';

const REFER_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

export interface NewAppUser {
  phone?: string | null;
  email?: string | null;
  passwordHash?: string | null;
  nickname?: string;
  referrerId?: number | null;
}

/**
 * AppUser rows. Reads go through the cache; every write is an entity save or remove, so the
 * CacheInvalidationSubscriber sees the old and new row and invalidates their keys after commit.
 */
@Injectable()
export class AppUserRepository {
  private readonly codec: RowCodec<AppUser>;

  constructor(
    @InjectRepository(AppUser) private readonly repo: Repository<AppUser>,
    private readonly cache: CacheAsideService,
    private readonly invalidation: CacheInvalidationSubscriber,
  ) {
    this.codec = entityCodec('appUsers', repo.metadata);
  }

  /** `cached`: the row key's value when the caller read it already (AuthenticatedSession.userRow). */
  findById(id: number, cached?: string | null): Promise<AppUser | null> {
    return this.cache.getRow(CacheKeys.appUserId(id), this.codec, () => this.repo.findOneBy({ id }), cached);
  }

  /** The row as MySQL has it now, past the cache. */
  findByIdUncached(id: number): Promise<AppUser | null> {
    return this.repo.findOneBy({ id });
  }

  findByPhone(phone: string): Promise<AppUser | null> {
    return this.cache.getByIndex(CacheKeys.appUserPhone(phone), this.codec, {
      rowKey: CacheKeys.appUserId,
      idOf: (row) => row.id,
      loadByIndex: () => this.repo.findOneBy({ phone }),
      loadById: (id) => this.repo.findOneBy({ id: Number(id) }),
    });
  }

  findByEmail(email: string): Promise<AppUser | null> {
    return this.cache.getByIndex(CacheKeys.appUserEmail(email), this.codec, {
      rowKey: CacheKeys.appUserId,
      idOf: (row) => row.id,
      loadByIndex: () => this.repo.findOneBy({ email }),
      loadById: (id) => this.repo.findOneBy({ id: Number(id) }),
    });
  }

  /** The id of the account with this email as MySQL has it now, past the cache. */
  async idOfEmail(email: string): Promise<number | null> {
    const row = await this.repo.findOne({ where: { email }, select: { id: true } });
    return row?.id ?? null;
  }

  /** Not cached: refer codes have no key in the contract's layout. */
  findByReferCode(referCode: string): Promise<AppUser | null> {
    return this.repo.findOneBy({ referCode });
  }

  findPage(afterId: number, limit: number): Promise<AppUser[]> {
    return this.repo.find({ where: { id: MoreThan(afterId) }, order: { id: 'ASC' }, take: limit });
  }

  /** Reads the row for a change, bypassing the cache, inside the caller's transaction. */
  lockById(manager: EntityManager, id: number): Promise<AppUser | null> {
    return manager.getRepository(AppUser).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  async create(manager: EntityManager, fields: NewAppUser): Promise<AppUser> {
    const repo = manager.getRepository(AppUser);
    for (let attempt = 0; ; attempt += 1) {
      const referCode = newReferCode();
      if (attempt < 5 && (await repo.existsBy({ referCode }))) continue;
      return repo.save(repo.create({ nickname: '', status: UserStatus.Active, disabledUntil: null, referrerId: null, ...fields, referCode }));
    }
  }

  async save(user: AppUser, manager: EntityManager = this.repo.manager): Promise<AppUser> {
    const saved = await manager.getRepository(AppUser).save(user);
    await this.invalidation.written(manager, AppUser, [saved]);
    return saved;
  }

  async remove(user: AppUser, manager: EntityManager = this.repo.manager): Promise<void> {
    await manager.getRepository(AppUser).remove(user);
  }
}

function newReferCode(): string {
  let code = '';
  for (let i = 0; i < 8; i += 1) code += REFER_ALPHABET[randomInt(REFER_ALPHABET.length)];
  return code;
}
