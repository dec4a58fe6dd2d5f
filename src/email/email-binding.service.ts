import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomInt } from 'crypto';
import type Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { AppUser } from '../app-user/app-user.entity';
import { UserStatus } from '../common/user-status';
import { AppUserRepository } from '../app-user/app-user.repository';
import { REVOKED_ERROR } from '../session/kick-reason';
import { CacheInvalidationSubscriber } from '../cache/cache-invalidation.subscriber';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { AppConfig } from '../config/app-config';
import { retryTransaction } from '../common/transactions';
import { DeviceManager } from '../device/device-manager.service';
import { SessionIntegrity } from '../device/session-integrity.service';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { MailTransport } from './mail-transport';

const CODE_TTL_SECONDS = 600;
const MAX_WRONG_CODES = 5;
const Keys = {
  code: (email: string) => `verify:email:${email}`,
  wrong: (email: string) => `verify:email:wrong:${email}`,
  cooldown: (email: string) => `verify:email:cooldown:${email}`,
};

export interface BindResult {
  email: string;
  userId: number;
  migrated: boolean;
  token?: string;
}

/**
 * Email binding. A free email is set on the caller's account; an email that belongs to another
 * account pulls the caller's devices into that account (the seed's zombie-session scenario):
 * the move commits in one transaction, every session of every moved device is revoked as
 * `migrated` (their sockets are kicked), and the calling device gets a fresh token.
 */
@Injectable()
export class EmailBindingService {
  private readonly logger = new Logger(EmailBindingService.name);

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly mail: MailTransport,
    private readonly users: AppUserRepository,
    private readonly devices: DeviceManager,
    private readonly integrity: SessionIntegrity,
    private readonly invalidation: CacheInvalidationSubscriber,
  ) {
    redis.defineCommand('hiConsumeEmailCode', { numberOfKeys: 2, lua: CONSUME_CODE });
  }

  /** `email` is in canonical form (the DTO made it so): the code's key names exactly that address. */
  async sendCode(email: string): Promise<{ expiresInSeconds: number }> {
    const cooldown = this.config.EMAIL_CODE_COOLDOWN_SECONDS;
    if (cooldown > 0 && (await this.redis.set(Keys.cooldown(email), '1', 'EX', cooldown, 'NX')) !== 'OK') {
      throw new AppError(ErrorCode.TOO_MANY_REQUESTS, `one code per email every ${cooldown} seconds`);
    }
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    await this.redis.multi().set(Keys.code(email), code, 'EX', CODE_TTL_SECONDS).del(Keys.wrong(email)).exec();
    try {
      await this.mail.send({ to: email, subject: 'Your hi verification code', text: `Your code is ${code}. It expires in 10 minutes.` });
    } catch (err) {
      // A code nobody received must neither count nor block the next attempt.
      await this.redis.del(Keys.code(email), Keys.cooldown(email));
      this.logger.warn(`mail to ${email.replace(/^(.).*@/, '$1***@')} failed: ${(err as Error).message}`);
      throw new AppError(ErrorCode.UNAVAILABLE, 'the code could not be sent; try again later');
    }
    return { expiresInSeconds: CODE_TTL_SECONDS };
  }

  async bind(userId: number, identifier: string, email: string, code: string): Promise<BindResult> {
    await this.consumeCode(email, code);
    // Two binds of one free email race on its unique key; the loser re-runs and sees the winner.
    const outcome = await retryTransaction(this.dataSource, async (manager) => {
      const caller = await this.users.lockById(manager, userId);
      if (!caller) throw new AppError(ErrorCode.USER_NOT_FOUND);
      const owner = await manager.getRepository(AppUser).findOne({ where: { email }, lock: { mode: 'pessimistic_write' } });
      if (!owner || owner.id === caller.id) {
        caller.email = email;
        await this.users.save(caller, manager);
        return { targetId: caller.id, moved: null };
      }
      if (owner.status !== UserStatus.Active) throw new AppError(ErrorCode.USER_DISABLED);
      const moved = await this.devices.moveAll(manager, caller.id, owner.id);
      // Both accounts' rows are invalidated too: whatever was cached about them predates the move.
      await this.invalidation.collect(manager.queryRunner, 'app_users', [caller, owner]);
      return { targetId: owner.id, moved };
    });
    if (!outcome.moved) return { email, userId: outcome.targetId, migrated: false };
    await this.devices.endMovedSessions(outcome.moved);
    const { token, ended } = await this.integrity.issue(outcome.targetId, identifier);
    if (ended) throw new AppError(REVOKED_ERROR[ended]);
    return { email, userId: outcome.targetId, migrated: true, token };
  }

  /** Compare-and-delete in one script, so a code is used once even by concurrent binds. */
  private async consumeCode(email: string, code: string): Promise<void> {
    const result = await (this.redis as unknown as CodeScript).hiConsumeEmailCode(Keys.code(email), Keys.wrong(email), code, MAX_WRONG_CODES, CODE_TTL_SECONDS);
    if (result !== 1) throw new AppError(ErrorCode.EMAIL_CODE_INVALID);
  }
}

// KEYS: code, wrong-count. ARGV: code, max wrong, ttl. 1: consumed; 0: wrong or missing (five wrong burn it).
const CONSUME_CODE = `
local expected = redis.call('GET', KEYS[1])
if not expected then return 0 end
if expected == ARGV[1] then redis.call('DEL', KEYS[1], KEYS[2]) return 1 end
local wrong = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
if wrong >= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1], KEYS[2]) end
return 0`;

interface CodeScript {
  hiConsumeEmailCode(codeKey: string, wrongKey: string, code: string, maxWrong: number, ttl: number): Promise<number>;
}
