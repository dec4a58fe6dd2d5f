import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { RedisClient } from '../redis/redis-client';
import { DataSource } from 'typeorm';
import { AppUser } from '../app-user/app-user.entity';
import { UserStatus } from '../common/user-status';
import { AppUserRepository } from '../app-user/app-user.repository';
import { DeviceLimit, DeviceSeat, NO_SEAT } from '../session/device-limit';
import { REVOKED_ERROR } from '../session/kick-reason';
import { passwordFingerprint } from '../session/session-ending.policy';
import { CacheInvalidationSubscriber } from '../cache/cache-invalidation.subscriber';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { AppConfig } from '../config/app-config';
import { retryTransaction } from '../common/transactions';
import { DeviceManager } from '../device/device-manager.service';
import { SessionIntegrity } from '../device/session-integrity.service';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { takeAttempt } from '../redis/redis-scripts';
import { MailTransport } from './mail-transport';
import { CODE_TTL_SECONDS, VerificationCodes } from './verification-codes';

const BIND_WINDOW_SECONDS = 3600;
const BindKeys = {
  user: (userId: number) => `email_bind_attempts:user:${userId}`,
  address: (address: string) => `email_bind_attempts:address:${address}`,
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
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly mail: MailTransport,
    private readonly codes: VerificationCodes,
    private readonly users: AppUserRepository,
    private readonly devices: DeviceManager,
    private readonly integrity: SessionIntegrity,
    private readonly invalidation: CacheInvalidationSubscriber,
    private readonly limit: DeviceLimit,
  ) {}

  /**
   * Mails a code for `userId` to bind `email` (canonical: the DTO made it so). The code is that
   * user's only: another user cannot use it, nor replace it by asking for one of their own.
   */
  async sendCode(userId: number, email: string): Promise<{ expiresInSeconds: number }> {
    const code = await this.codes.issue('email', email, String(userId));
    try {
      await this.mail.send({ to: email, subject: 'Your hi verification code', text: `Your code is ${code}. It expires in 10 minutes.` });
    } catch (err) {
      await this.codes.withdraw('email', email, String(userId), { cooldown: true });
      this.logger.warn(`mail to ${email.replace(/^(.).*@/, '$1***@')} failed: ${(err as Error).message}`);
      throw new AppError(ErrorCode.UNAVAILABLE, 'the code could not be sent; try again later');
    }
    return { expiresInSeconds: CODE_TTL_SECONDS };
  }

  /**
   * `address`: the client's; attempts are limited per user and per address, counted before the
   * code is checked. A binding that moves the caller into another account takes its turn there
   * under the device limit (DeviceLimit): refused by `deny-new` before the code is used up.
   */
  async bind(userId: number, identifier: string, email: string, code: string, address: string): Promise<BindResult> {
    await this.countAttempt(userId, address);
    if (!(await this.codes.check('email', email, String(userId), code))) throw new AppError(ErrorCode.EMAIL_CODE_INVALID);
    const target = this.limit.enabled ? ((await this.users.idOfEmail(email)) ?? userId) : undefined;
    if (target === undefined || target === userId) return this.bindAs(userId, identifier, email, code, target, NO_SEAT);
    return this.limit.admit(target, identifier, (seat) => this.bindAs(userId, identifier, email, code, target, seat));
  }

  /** `expected`: the account the binding was admitted into (undefined: no device limit). */
  private async bindAs(userId: number, identifier: string, email: string, code: string, expected: number | undefined, seat: DeviceSeat): Promise<BindResult> {
    const by = `email binding of user ${userId} (device ${identifier})`;
    // The code is used up once the binding is sure to be written: a refusal (20004, 20014, the
    // email changing hands) leaves it for another try. Consumed once, by one compare-and-delete:
    // of two binds with one code, the second to take the caller's row lock gets 20007; a re-run
    // of the transaction (the race below) does not consume again.
    let consumed = false;
    const useCode = async () => {
      if (!consumed && !(await this.codes.consume('email', email, String(userId), code))) throw new AppError(ErrorCode.EMAIL_CODE_INVALID);
      consumed = true;
    };
    // Two binds of one free email race on its unique key; the loser re-runs and sees the winner.
    const outcome = await retryTransaction(this.dataSource, async (manager) => {
      const caller = await this.users.lockById(manager, userId);
      if (!caller) throw new AppError(ErrorCode.USER_NOT_FOUND);
      const owner = await manager.getRepository(AppUser).findOne({ where: { email }, lock: { mode: 'pessimistic_write' } });
      const target = !owner || owner.id === caller.id ? caller : owner;
      if (expected !== undefined && target.id !== expected) throw new AppError(ErrorCode.UNAVAILABLE, 'the email changed hands meanwhile; try again');
      if (target === caller) {
        await useCode();
        caller.email = email;
        await this.users.save(caller, manager);
        return { target, moved: null };
      }
      if (target.status !== UserStatus.Active) throw new AppError(ErrorCode.USER_DISABLED);
      await useCode();
      const moved = await this.devices.moveAll(manager, caller.id, { id: target.id, pw: passwordFingerprint(target.passwordHash) }, by);
      // Both accounts' rows are invalidated too: whatever was cached about them predates the move.
      await this.invalidation.collect(manager.queryRunner, 'app_users', [caller, target]);
      return { target, moved };
    });
    if (!outcome.moved) return { email, userId: outcome.target.id, migrated: false };
    await this.devices.endMovedSessions(outcome.moved);
    await seat.makeRoom();
    const { token, ended } = await this.integrity.issue(outcome.target.id, identifier, passwordFingerprint(outcome.target.passwordHash));
    if (ended) throw new AppError(REVOKED_ERROR[ended]);
    return { email, userId: outcome.target.id, migrated: true, token };
  }

  /** EMAIL_BIND_ATTEMPTS_PER_HOUR per user and per client address; one refused by the address does not count for the user. */
  private async countAttempt(userId: number, address: string): Promise<void> {
    const limit = this.config.EMAIL_BIND_ATTEMPTS_PER_HOUR;
    if (limit === 0) return;
    const userWait = await takeAttempt(this.redis, BindKeys.user(userId), limit, BIND_WINDOW_SECONDS);
    if (userWait > 0) throw AppError.tooManyRequests('too many email bind attempts for this account; try again later', userWait);
    const addressWait = await takeAttempt(this.redis, BindKeys.address(address), limit, BIND_WINDOW_SECONDS);
    if (addressWait > 0) {
      await this.redis.decr(BindKeys.user(userId));
      throw AppError.tooManyRequests('too many email bind attempts from this address; try again later', addressWait);
    }
  }
}
