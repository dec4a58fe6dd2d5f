import { Inject, Injectable } from '@nestjs/common';
import { randomInt } from 'crypto';
import type { RedisClient } from '../redis/redis-client';
import { AppError } from '../common/app-error';
import { AppConfig } from '../config/app-config';
import { REDIS_CLIENT } from '../redis/redis.constants';

export const CODE_TTL_SECONDS = 600;
const MAX_WRONG_CODES = 5;

/** What a code proves: an email to bind (`verify:email:{email}`) or an account's password reset. */
export type CodePurpose = 'email' | 'reset';

const Keys = {
  /** A hash: the code of each owner that asked, and each owner's count of wrong tries. */
  codes: (purpose: CodePurpose, email: string) => `verify:${purpose}:${email}`,
  cooldown: (purpose: CodePurpose, email: string) => `verify:${purpose}:cooldown:${email}`,
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
 * the email, or the account a reset is for): another owner's code for the same address is
 * neither usable nor overwritten by it. A code lives 10 minutes, is used once (even by concurrent
 * requests), and five wrong tries burn it. One code per address per EMAIL_CODE_COOLDOWN_SECONDS.
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

  /** A code nobody received neither counts nor blocks the next request. */
  async withdraw(purpose: CodePurpose, email: string, owner: string): Promise<void> {
    await this.redis.hdel(Keys.codes(purpose, email), owner);
    await this.redis.del(Keys.cooldown(purpose, email));
  }

  /** Whether `code` is `owner`'s current code for `email`; a right one is used up. */
  async consume(purpose: CodePurpose, email: string, owner: string, code: string): Promise<boolean> {
    return (await this.scripts.hiConsumeCode(Keys.codes(purpose, email), owner, code, MAX_WRONG_CODES, '1')) === 1;
  }

  /**
   * Whether `code` is `owner`'s current code, without using it up (a wrong one counts as a wrong
   * try): for a request that may still be refused for another reason before it changes anything.
   */
  async check(purpose: CodePurpose, email: string, owner: string, code: string): Promise<boolean> {
    return (await this.scripts.hiConsumeCode(Keys.codes(purpose, email), owner, code, MAX_WRONG_CODES, '0')) === 1;
  }
}
