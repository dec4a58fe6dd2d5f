import { Inject, Injectable } from '@nestjs/common';
import { randomInt } from 'crypto';
import type { RedisClient } from '../redis/redis-client';
import { AppError } from '../common/app-error';
import { AppConfig } from '../config/app-config';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { takeAttempt } from '../redis/redis-scripts';

export const CODE_TTL_SECONDS = 600;
const MAX_WRONG_CODES = 5;
/**
 * Wrong codes per email address per day, whoever asked and from wherever: what bounds guessing
 * (20 guesses at a million codes is a 0.002% chance a day), since a guesser can ask for a new code
 * every cooldown. Reaching it blocks that email's codes for the rest of the day (429).
 */
export const MAX_WRONG_CODES_PER_EMAIL_PER_DAY = 20;

/** What a code proves: an email to bind (`verify:email:{email}`) or an account's password reset. */
export type CodePurpose = 'email' | 'reset';

const Keys = {
  /** A hash: the code of each owner that asked, and each owner's count of wrong tries. */
  codes: (purpose: CodePurpose, email: string) => `verify:${purpose}:${email}`,
  cooldown: (purpose: CodePurpose, email: string) => `verify:${purpose}:cooldown:${email}`,
  /** Wrong codes for the email today, counted before each code is checked (takeAttempt). */
  wrong: (purpose: CodePurpose, email: string) => `verify:${purpose}:wrong:${email}`,
};

// KEYS: the codes hash. ARGV: owner, code, max wrong, '1' to use the code up when right. 1: right
// (and used up); 0: wrong or none (five wrong burn it).
const CONSUME = `
local expected = redis.call('HGET', KEYS[1], ARGV[1])
if not expected then return 0 end
if expected == ARGV[2] then
  if ARGV[4] == '1' then redis.call('HDEL', KEYS[1], ARGV[1], ARGV[1] .. ':wrong') end
  return 1
end
local wrong = redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':wrong', 1)
if wrong >= tonumber(ARGV[3]) then redis.call('HDEL', KEYS[1], ARGV[1], ARGV[1] .. ':wrong') end
return 0`;

interface Scripts {
  hiConsumeCode(key: string, owner: string, code: string, maxWrong: number, useUp: '0' | '1'): Promise<number>;
}

/**
 * Six-digit codes mailed to an address, each for the one owner that asked for it (a user binding
 * the email; for a reset, the account together with the client address that asked): another
 * owner's code for the same address is neither usable nor overwritten nor burnt by it. A code
 * lives 10 minutes, is used once (even by concurrent requests), and five wrong tries burn it; an
 * email gets at most MAX_WRONG_CODES_PER_EMAIL_PER_DAY wrong tries a day over all its codes. One
 * code per address per EMAIL_CODE_COOLDOWN_SECONDS.
 */
@Injectable()
export class VerificationCodes {
  private readonly scripts: Scripts;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly config: AppConfig,
  ) {
    redis.defineCommand('hiConsumeCode', { numberOfKeys: 1, lua: CONSUME });
    this.scripts = redis as unknown as Scripts;
  }

  /** A new code of `owner` for `email`, replacing that owner's previous one; 429 within the cooldown. */
  async issue(purpose: CodePurpose, email: string, owner: string): Promise<string> {
    await this.throttle(purpose, email);
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const key = Keys.codes(purpose, email);
    await this.redis.multi().hset(key, owner, code).hdel(key, `${owner}:wrong`).expire(key, CODE_TTL_SECONDS).exec();
    return code;
  }

  /**
   * Starts the email's cooldown, or answers 429 within it. Also for an address no code is sent
   * to (a reset for an unknown email), so that the answers do not tell the two apart.
   */
  async throttle(purpose: CodePurpose, email: string): Promise<void> {
    const cooldown = this.config.EMAIL_CODE_COOLDOWN_SECONDS;
    if (cooldown > 0 && (await this.redis.set(Keys.cooldown(purpose, email), '1', 'EX', cooldown, 'NX')) !== 'OK') {
      const ttl = await this.redis.ttl(Keys.cooldown(purpose, email));
      throw AppError.tooManyRequests(`one code per email every ${cooldown} seconds`, ttl > 0 ? ttl : cooldown);
    }
  }

  /**
   * A code nobody received does not count; `cooldown` also lets the next request through at once
   * (not for resets: whether the cooldown held would tell which emails have an account).
   */
  async withdraw(purpose: CodePurpose, email: string, owner: string, options: { cooldown: boolean }): Promise<void> {
    await this.redis.hdel(Keys.codes(purpose, email), owner);
    if (options.cooldown) await this.redis.del(Keys.cooldown(purpose, email));
  }

  /** Whether `code` is `owner`'s current code for `email`; a right one is used up. */
  async consume(purpose: CodePurpose, email: string, owner: string, code: string): Promise<boolean> {
    return this.counted(purpose, email, () => this.scripts.hiConsumeCode(Keys.codes(purpose, email), owner, code, MAX_WRONG_CODES, '1'));
  }

  /**
   * Whether `code` is `owner`'s current code, without using it up (a wrong one counts as a wrong
   * try): for a request that may still be refused for another reason before it changes anything.
   */
  async check(purpose: CodePurpose, email: string, owner: string, code: string): Promise<boolean> {
    return this.counted(purpose, email, () => this.scripts.hiConsumeCode(Keys.codes(purpose, email), owner, code, MAX_WRONG_CODES, '0'));
  }

  /**
   * Takes one of the email's daily wrong tries before the code is compared, in one atomic step, so
   * that concurrent guesses cannot pass the cap; a right code gives it back.
   */
  private async counted(purpose: CodePurpose, email: string, compare: () => Promise<number>): Promise<boolean> {
    const wait = await takeAttempt(this.redis, Keys.wrong(purpose, email), MAX_WRONG_CODES_PER_EMAIL_PER_DAY, 86400);
    if (wait > 0) throw AppError.tooManyRequests('too many wrong codes for this email today; try again later', wait);
    const right = (await compare()) === 1;
    if (right) await this.redis.decr(Keys.wrong(purpose, email));
    return right;
  }
}
