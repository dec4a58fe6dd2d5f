import { Inject, Injectable } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-client';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { OnSessionEvent, SessionEvents } from '../session/session-events';

/** The last session ends of every process, newest first: one Redis list, trimmed on each write. */
export const RECENT_SESSION_ENDS_KEY = 'recent_session_ends';
export const RECENT_SESSION_ENDS_KEPT = 100;

export interface RecentSessionEnd {
  at: string;
  reason: string;
  /** The first 12 characters of the session id (itself a hash of the token). */
  sessionId: string;
  identifier: string;
  userId: number;
  by: string;
}

/**
 * Keeps the last hundred session ends, for the admin console's "which sessions ended and why".
 * Best effort: a session that ended while Redis did not answer is in the log, not in this list.
 */
@Injectable()
export class RecentSessionEnds {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  @OnSessionEvent('session.ended')
  record({ ended, by }: SessionEvents['session.ended']): void {
    if (ended.length === 0) return;
    const at = new Date().toISOString();
    const items = ended.map(({ session, reason }) =>
      JSON.stringify({ at, reason, sessionId: session.sessionId.slice(0, 12), identifier: session.identifier, userId: session.userId, by }),
    );
    this.redis
      .multi()
      .lpush(RECENT_SESSION_ENDS_KEY, ...items)
      .ltrim(RECENT_SESSION_ENDS_KEY, 0, RECENT_SESSION_ENDS_KEPT - 1)
      .exec()
      .catch(() => undefined);
  }

  async list(limit = 20): Promise<RecentSessionEnd[]> {
    const items = await this.redis.lrange(RECENT_SESSION_ENDS_KEY, 0, limit - 1);
    return items.map((item) => JSON.parse(item) as RecentSessionEnd);
  }
}
