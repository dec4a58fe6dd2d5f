import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { AppConfig } from '../config/app-config';
import { REDIS_CLIENT } from '../redis/redis.constants';

const WINDOW_SECONDS = 15 * 60;
const key = (scope: string, phone: string) => `login_failures:${scope}:${phone}`;

/** LOGIN_FAILURES_PER_PHONE failed logins per phone per 15 minutes; successes do not count. */
@Injectable()
export class LoginAttempts {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly config: AppConfig,
  ) {}

  async assertAllowed(scope: 'app' | 'oa', phone: string): Promise<void> {
    const limit = this.config.LOGIN_FAILURES_PER_PHONE;
    if (limit === 0) return;
    const failures = Number((await this.redis.get(key(scope, phone))) ?? 0);
    if (failures >= limit) throw new AppError(ErrorCode.TOO_MANY_REQUESTS, 'too many failed logins for this phone; try again later');
  }

  async recordFailure(scope: 'app' | 'oa', phone: string): Promise<void> {
    if (this.config.LOGIN_FAILURES_PER_PHONE === 0) return;
    await this.redis.multi().incr(key(scope, phone)).expire(key(scope, phone), WINDOW_SECONDS, 'NX').exec();
  }

  /** Forgets the failures of a phone: an admin reset lets a locked-out staff user in at once. */
  async forget(scope: 'app' | 'oa', phone: string): Promise<void> {
    await this.redis.del(key(scope, phone));
  }
}
