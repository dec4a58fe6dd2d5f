import { Inject, Injectable } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-client';
import { AppError } from '../common/app-error';
import { AppConfig } from '../config/app-config';
import { REDIS_CLIENT } from '../redis/redis.constants';

const WINDOW_SECONDS = 15 * 60;
/** One hash per phone: a counter per client address, and '*' for all addresses together. */
const key = (scope: LoginScope, phone: string) => `login_failures:${scope}:${phone}`;
const ALL = '*';

/** Whose passwords: client phones, staff phones, or a signed-in user's current password (by user id). */
export type LoginScope = 'app' | 'oa' | 'password';

// KEYS: the phone's hash. ARGV: address, per-address limit, all-addresses limit (0: none), window.
// Counts the attempt on both counters, or refuses it: 0, or the seconds until the window ends.
const RESERVE = `
local pair = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local all = tonumber(redis.call('HGET', KEYS[1], '${ALL}') or '0')
local pairLimit, allLimit = tonumber(ARGV[2]), tonumber(ARGV[3])
if (pairLimit > 0 and pair >= pairLimit) or (allLimit > 0 and all >= allLimit) then
  return math.max(redis.call('TTL', KEYS[1]), 1)
end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('HINCRBY', KEYS[1], '${ALL}', 1)
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
return 0`;

// KEYS: the phone's hash. ARGV: address. A login that succeeded gives its attempt back.
const RELEASE = `
for _, field in ipairs({ ARGV[1], '${ALL}' }) do
  if tonumber(redis.call('HGET', KEYS[1], field) or '0') > 0 then redis.call('HINCRBY', KEYS[1], field, -1) end
end
return 0`;

interface Scripts {
  hiLoginReserve(key: string, address: string, pairLimit: number, allLimit: number, window: number): Promise<number>;
  hiLoginRelease(key: string, address: string): Promise<number>;
}

/** A counted login attempt: a login that turns out right gives it back. */
export interface LoginAttempt {
  succeeded(): Promise<void>;
}

/**
 * Failed logins per phone: LOGIN_FAILURES_PER_PHONE per (phone, client address) and
 * LOGIN_FAILURES_PER_PHONE_ALL_ADDRESSES per phone, per 15 minutes. An attempt is counted before
 * the password is checked, in one atomic step, so a burst of concurrent guesses gets no more than
 * the limit evaluated; one that succeeds is given back. A stranger's failures from elsewhere
 * cannot lock the owner out; a guesser spread over many addresses is still stopped.
 */
@Injectable()
export class LoginAttempts {
  private readonly scripts: Scripts;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly config: AppConfig,
  ) {
    redis.defineCommand('hiLoginReserve', { numberOfKeys: 1, lua: RESERVE });
    redis.defineCommand('hiLoginRelease', { numberOfKeys: 1, lua: RELEASE });
    this.scripts = redis as unknown as Scripts;
  }

  /** Counts an attempt, or refuses it with 429 and when to come back. */
  async reserve(scope: LoginScope, phone: string, address: string): Promise<LoginAttempt> {
    const { LOGIN_FAILURES_PER_PHONE: pairLimit, LOGIN_FAILURES_PER_PHONE_ALL_ADDRESSES: allLimit } = this.config;
    if (pairLimit === 0 && allLimit === 0) return { succeeded: async () => undefined };
    const wait = await this.scripts.hiLoginReserve(key(scope, phone), address, pairLimit, allLimit, WINDOW_SECONDS);
    if (wait > 0) throw AppError.tooManyRequests('too many failed logins for this phone; try again later', wait);
    return { succeeded: async () => void (await this.scripts.hiLoginRelease(key(scope, phone), address)) };
  }

  /** Forgets the failures of a phone: an admin reset lets a locked-out staff user in at once. */
  async forget(scope: LoginScope, phone: string): Promise<void> {
    await this.redis.del(key(scope, phone));
  }
}
