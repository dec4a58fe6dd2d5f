import { Inject, Injectable } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-client';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { AppConfig } from '../config/app-config';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { withRedisLock } from '../redis/redis-lock';
import { SessionService } from './session.service';
import { RevokedSession } from './session.store';

const LOCK = { ttlMs: 15_000, waitMs: 5_000 };
const lockKey = (userId: number) => `device_limit_lock:${userId}`;

/** A place in the account's signed-in devices, held while a login of one device runs. */
export interface DeviceSeat {
  /**
   * Just before the new session is issued: with `kick-oldest`, ends the sessions of the least
   * recently active devices that the new one pushes over the limit (`overflow`).
   */
  makeRoom(): Promise<void>;
}

/** For a login into an account that has no signed-in device to count (a new one). */
export const NO_SEAT: DeviceSeat = { makeRoom: async () => undefined };

/**
 * MAX_DEVICES_PER_USER with DEVICE_LIMIT_POLICY (CONTRACT section 3, "Per-account device limit").
 * Signed-in devices are the devices with a live session of the account. Logins of one account
 * take turns (a lock per account, held from the check to the new session): two concurrent logins
 * can never both take the last place, and a device pushed out is pushed out once. Without a
 * limit nothing is locked and nothing is read.
 */
@Injectable()
export class DeviceLimit {
  constructor(
    private readonly sessions: SessionService,
    private readonly config: AppConfig,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
  ) {}

  get enabled(): boolean {
    return this.config.MAX_DEVICES_PER_USER > 0;
  }

  /**
   * Runs a login of `identifier` into `userId`'s account (`work`, which commits the device and
   * issues the session after `seat.makeRoom()`). With `deny-new` and the account full, answers
   * 403 / 20014 before `work` runs, so that nothing changes. A device that is signed in already
   * may log in again.
   */
  async admit<T>(userId: number, identifier: string, work: (seat: DeviceSeat) => Promise<T>): Promise<T> {
    if (!this.enabled) return work(NO_SEAT);
    return withRedisLock(this.redis, lockKey(userId), LOCK, async () => {
      if (this.config.DEVICE_LIMIT_POLICY === 'deny-new' && (await this.excess(userId, identifier)).length > 0) {
        throw new AppError(ErrorCode.DEVICE_LIMIT_REACHED, `the account has ${this.config.MAX_DEVICES_PER_USER} signed-in device(s), the most it may have`);
      }
      return work({
        makeRoom: async () => {
          const pushedOut = await this.excess(userId, identifier);
          if (pushedOut.length > 0)
            await this.sessions.revoke(
              pushedOut.map((s) => s.sessionId),
              'overflow',
              `login of device ${identifier}`,
            );
        },
      });
    });
  }

  /** The sessions of other devices beyond the place the new one needs, least recently active first. */
  private async excess(userId: number, identifier: string): Promise<RevokedSession[]> {
    const others = (await this.sessions.sessionsOfUser(userId)).filter((s) => s.userId === userId && s.identifier !== identifier);
    const over = others.length + 1 - this.config.MAX_DEVICES_PER_USER;
    if (over <= 0) return [];
    const lastActive = (s: RevokedSession) => s.activeAt ?? s.issuedAt;
    return others.sort((a, b) => lastActive(a) - lastActive(b)).slice(0, over);
  }
}
