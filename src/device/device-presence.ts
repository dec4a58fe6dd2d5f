import { Inject, Injectable } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-client';
import { REDIS_CLIENT } from '../redis/redis.constants';

const Keys = {
  /** The device's sockets on every process, scored by when each entry lapses. */
  online: (identifier: string) => `device:online:${identifier}`,
  /** The session's sockets on every process, likewise: what SOCKET_MAX_PER_SESSION counts. */
  sockets: (sessionId: string) => `session_sockets:${sessionId}`,
};

// KEYS: the session's sockets. ARGV: socket id, max, now, until, ttl ms. 1 when the socket got a slot.
const CLAIM = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == false and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

export interface PresenceEntry {
  identifier: string;
  sessionId: string;
  socketId: string;
}

/**
 * Which devices have a live socket on any process, and how many sockets each session holds: sorted
 * sets of socket ids scored by when the entry lapses. Each process refreshes its own sockets on
 * every sweep, so the entries of a process that died lapse by themselves.
 */
@Injectable()
export class DevicePresence {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {
    redis.defineCommand('hiClaimSocket', { numberOfKeys: 1, lua: CLAIM });
  }

  /** Takes one of the session's `max` socket slots, atomically across processes; false when all are taken. */
  async claim(entry: PresenceEntry, max: number, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const claimed = await (this.redis as unknown as Claim).hiClaimSocket(Keys.sockets(entry.sessionId), entry.socketId, max, now, now + ttlMs, ttlMs);
    return claimed === 1;
  }

  async add({ identifier, socketId }: PresenceEntry, ttlMs: number): Promise<void> {
    await this.redis
      .multi()
      .zadd(Keys.online(identifier), Date.now() + ttlMs, socketId)
      .pexpire(Keys.online(identifier), ttlMs)
      .exec();
  }

  async remove({ identifier, sessionId, socketId }: PresenceEntry): Promise<void> {
    await Promise.all([this.redis.zrem(Keys.online(identifier), socketId), this.redis.zrem(Keys.sockets(sessionId), socketId)]);
  }

  async refresh(entries: PresenceEntry[], ttlMs: number): Promise<void> {
    const now = Date.now();
    const until = now + ttlMs;
    await Promise.all(
      entries.flatMap(({ identifier, sessionId, socketId }) =>
        [Keys.online(identifier), Keys.sockets(sessionId)].map((key) =>
          this.redis.multi().zadd(key, until, socketId).pexpire(key, ttlMs).zremrangebyscore(key, '-inf', now).exec(),
        ),
      ),
    );
  }

  async online(identifiers: string[]): Promise<Set<string>> {
    const now = Date.now();
    const counts = await Promise.all(identifiers.map((identifier) => this.redis.zcount(Keys.online(identifier), now, '+inf')));
    return new Set(identifiers.filter((_, i) => counts[i] > 0));
  }
}

interface Claim {
  hiClaimSocket(key: string, socketId: string, max: number, now: number, until: number, ttlMs: number): Promise<number>;
}
