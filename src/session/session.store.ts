import { Inject, Injectable } from '@nestjs/common';
import { isCluster, keyHolders, RedisClient } from '../redis/redis-client';
import { AppConfig } from '../config/app-config';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { compareAndDelete } from '../redis/redis-scripts';
import { CacheKeys } from '../cache/cache-keys';
import { KickReason } from './kick-reason';

export interface Session {
  userId: number;
  identifier: string;
  /** When it was issued (ms). */
  issuedAt: number;
  /** When it was last seen in use (ms); written at most once per touch interval. Absent: never since issue. */
  activeAt?: number;
  /**
   * Fingerprints of the password hashes it was issued on (passwordFingerprint): it ends when the
   * account's password changes. Absent on sessions issued before password changes existed.
   */
  pw?: string[];
}

/** A session as Redis holds it: the raw value is what a compare-and-set compares. */
export interface StoredSession {
  session: Session;
  raw: string;
}

export interface RevokedSession extends Session {
  sessionId: string;
}

/**
 * The Redis layout of CONTRACT section 4, named in this one place; the scripts get their keys
 * from here. Every command touches one key, or the two keys of one session, which on a Redis
 * Cluster carry the session id as their hash tag (`session:{sid}`, `revoked:{sid}`) so that they
 * share a slot. On a single Redis the names are the contract's exactly.
 */
export function sessionKeys(cluster: boolean) {
  const tagged = (sid: string) => (cluster ? `{${sid}}` : sid);
  return {
    session: (sid: string) => `session:${tagged(sid)}`,
    /** The SCAN pattern of every session key, and the session id a key of it names. */
    sessionPattern: 'session:*',
    sessionIdOfKey: (key: string) => (cluster ? key.slice('session:{'.length, -1) : key.slice('session:'.length)),
    /** Why a session ended, for the next request of its token; also a tombstone no late write can pass. */
    revoked: (sid: string) => `revoked:${tagged(sid)}`,
    deviceSession: (identifier: string) => `device:session:${identifier}`,
    userSessions: (userId: number | string) => `user_sessions:${userId}`,
  };
}
export type SessionKeys = ReturnType<typeof sessionKeys>;

const USER_ROW_PREFIX = CacheKeys.appUserId('');

// KEYS: session, revoked. ARGV: json, ttl ms. A session revoked before it was written stays revoked.
const CREATE = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

// KEYS: session. ARGV: the value read, the new value, ttl ms. Rewrites a session that nothing ended
// or rewrote since it was read; an ended session stays ended.
const REWRITE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

// KEYS: session, revoked. ARGV: reason, reasonTtl. Ends the session at once; returns what it was.
// A session that does not exist (lapsed, or not written yet by a racing login) gets the tombstone
// 'gone': it blocks a late write, and its token answers 100003, not a reason it never had.
const REVOKE = `
local raw = redis.call('GET', KEYS[1])
redis.call('DEL', KEYS[1])
if raw then
  redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
else
  redis.call('SET', KEYS[2], 'gone', 'NX', 'EX', ARGV[2])
end
return raw`;

// KEYS: device pointer. ARGV: expected current ('' for none), sid, ttl. 1 when it was swapped.
const SWAP = `
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1`;

// KEYS: session. ARGV: the key prefix of the user's cached row. The session and its user's cached
// row in one round trip: a client request reads both, and the row key needs the session's user id.
// A single Redis only: on a cluster the row's key is in another slot, and the two are read apart.
const GET_WITH_USER_ROW = `
local raw = redis.call('GET', KEYS[1])
if not raw then return {false, false} end
return {raw, redis.call('GET', ARGV[1] .. string.format('%d', cjson.decode(raw).userId))}`;

interface SessionScripts {
  hiSessionCreate(session: string, revoked: string, json: string, ttl: number): Promise<number>;
  hiSessionRevoke(session: string, revoked: string, reason: string, reasonTtl: number): Promise<string | null>;
  hiSessionSwap(pointer: string, expected: string, sid: string, ttl: number): Promise<number>;
  hiSessionWithUserRow(session: string, rowPrefix: string): Promise<[string | null, string | null]>;
  hiSessionRewrite(session: string, expected: string, json: string, ttlMs: number): Promise<number>;
}

@Injectable()
export class SessionStore {
  private readonly scripts: SessionScripts;
  private readonly keys: SessionKeys;
  private readonly cluster: boolean;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly config: AppConfig,
  ) {
    redis.defineCommand('hiSessionCreate', { numberOfKeys: 2, lua: CREATE });
    redis.defineCommand('hiSessionRevoke', { numberOfKeys: 2, lua: REVOKE });
    redis.defineCommand('hiSessionSwap', { numberOfKeys: 1, lua: SWAP });
    redis.defineCommand('hiSessionWithUserRow', { numberOfKeys: 1, lua: GET_WITH_USER_ROW });
    redis.defineCommand('hiSessionRewrite', { numberOfKeys: 1, lua: REWRITE });
    this.scripts = redis as unknown as SessionScripts;
    this.cluster = isCluster(redis);
    this.keys = sessionKeys(this.cluster);
  }

  /** How long a revoked token keeps telling why: one session TTL or 24 h, whichever is shorter. */
  get reasonTtl(): number {
    return Math.min(this.config.SESSION_TTL_SECONDS, 86400);
  }

  /**
   * Stores a new session as the device's one live session; returns the sessions it replaced.
   * The device's previous session is ended before the new one exists, and the pointer is swapped
   * only if no other login moved it meanwhile (else that one is ended too): at no moment do two
   * sessions of one device live, and a failure midway leaves the old one ended, never both alive.
   * Returns null when a concurrent login of the same device ended this one before it was written.
   */
  async issue(sessionId: string, session: Session): Promise<RevokedSession[] | null> {
    const ttl = this.config.SESSION_TTL_SECONDS;
    const pointer = this.keys.deviceSession(session.identifier);
    const replaced: RevokedSession[] = [];
    for (;;) {
      const previous = await this.redis.get(pointer);
      if (previous !== null && previous !== sessionId) replaced.push(...(await this.revoke([previous], 'replaced')));
      if ((await this.scripts.hiSessionSwap(pointer, previous ?? '', sessionId, ttl)) === 1) break;
    }
    const created = await this.scripts.hiSessionCreate(
      this.keys.session(sessionId),
      this.keys.revoked(sessionId),
      JSON.stringify(session),
      this.lifetimeMs(session),
    );
    if (created !== 1) return null;
    const users = this.keys.userSessions(session.userId);
    await this.redis
      .multi()
      .zadd(users, session.issuedAt, sessionId)
      .zremrangebyscore(users, '-inf', session.issuedAt - ttl * 1000)
      .expire(users, ttl)
      .exec();
    return replaced;
  }

  async get(sessionId: string): Promise<Session | null> {
    return (await this.read(sessionId))?.session ?? null;
  }

  async read(sessionId: string): Promise<StoredSession | null> {
    const raw = await this.redis.get(this.keys.session(sessionId));
    return raw ? { session: JSON.parse(raw) as Session, raw } : null;
  }

  /** The session and the raw cached row of its user (null: not cached), in one round trip. */
  async readWithUserRow(sessionId: string): Promise<{ stored: StoredSession | null; userRow: string | null }> {
    if (this.cluster) {
      const stored = await this.read(sessionId);
      return { stored, userRow: stored ? await this.redis.get(CacheKeys.appUserId(stored.session.userId)) : null };
    }
    const [raw, userRow] = await this.scripts.hiSessionWithUserRow(this.keys.session(sessionId), USER_ROW_PREFIX);
    return { stored: raw ? { session: JSON.parse(raw) as Session, raw } : null, userRow };
  }

  /**
   * How long a session may live from now: until its absolute end (issuedAt + SESSION_TTL_SECONDS)
   * and, with SESSION_IDLE_SECONDS, until the idle timeout after its last recorded use plus one
   * touch interval, since a use within the interval after the last recorded one is not written.
   */
  lifetimeMs(session: Session, now = Date.now()): number {
    const absolute = session.issuedAt + this.config.SESSION_TTL_SECONDS * 1000 - now;
    const idle = this.config.SESSION_IDLE_SECONDS;
    if (idle === 0) return Math.max(absolute, 1);
    const idleEnd = (session.activeAt ?? session.issuedAt) + (idle + this.touchIntervalSeconds) * 1000 - now;
    return Math.max(Math.min(absolute, idleEnd), 1);
  }

  /** How often a session's use is written: once a minute, or twice per idle timeout when that is shorter. */
  get touchIntervalSeconds(): number {
    const idle = this.config.SESSION_IDLE_SECONDS;
    return idle === 0 ? 60 : Math.min(60, Math.max(1, Math.floor(idle / 2)));
  }

  /**
   * Writes `change` into the session read as `stored`, unless it ended or changed since (then the
   * caller may read it again). The idle deadline moves with `activeAt`.
   */
  async rewrite(sessionId: string, stored: StoredSession, change: Partial<Pick<Session, 'activeAt' | 'pw'>>): Promise<boolean> {
    const next: Session = { ...stored.session, ...change };
    const done = await this.scripts.hiSessionRewrite(this.keys.session(sessionId), stored.raw, JSON.stringify(next), this.lifetimeMs(next));
    return done === 1;
  }

  async revokedReason(sessionId: string): Promise<string | null> {
    return this.redis.get(this.keys.revoked(sessionId));
  }

  /**
   * Ends sessions, each at once (its key goes and its reason is left behind), then removes them
   * from their user's set and their device's pointer; returns those that were live.
   */
  async revoke(sessionIds: string[], reason: KickReason): Promise<RevokedSession[]> {
    const ended = await Promise.all(
      [...new Set(sessionIds)].map(async (sessionId) => {
        const raw = await this.scripts.hiSessionRevoke(this.keys.session(sessionId), this.keys.revoked(sessionId), reason, this.reasonTtl);
        return raw ? { sessionId, ...(JSON.parse(raw) as Session) } : null;
      }),
    );
    const revoked = ended.filter((s): s is RevokedSession => s !== null);
    await Promise.all(
      revoked.flatMap((s) => [
        this.redis.zrem(this.keys.userSessions(s.userId), s.sessionId),
        compareAndDelete(this.redis, this.keys.deviceSession(s.identifier), s.sessionId),
      ]),
    );
    return revoked;
  }

  async revokeUser(userId: number, reason: KickReason): Promise<RevokedSession[]> {
    return this.revoke(await this.redis.zrange(this.keys.userSessions(userId), 0, -1), reason);
  }

  /** The current session of each device, with the session itself. */
  async currentSessionsOfDevices(identifiers: string[]): Promise<RevokedSession[]> {
    const sids = await this.getMany(identifiers.map((identifier) => this.keys.deviceSession(identifier)));
    return this.withSessions(sids.filter((sid): sid is string => sid !== null));
  }

  /** Every live session of these users; ids of sessions that lapsed are dropped from their sets on the way. */
  async sessionsOfUsers(userIds: number[]): Promise<RevokedSession[]> {
    const sets = await Promise.all(userIds.map((id) => this.redis.zrange(this.keys.userSessions(id), 0, -1)));
    const live = await this.withSessions(sets.flat());
    const alive = new Set(live.map((s) => s.sessionId));
    await Promise.all(
      userIds.flatMap((id, i) => {
        const dead = sets[i].filter((sid) => !alive.has(sid));
        return dead.length > 0 ? [this.redis.zrem(this.keys.userSessions(id), ...dead).catch(() => 0)] : [];
      }),
    );
    return live;
  }

  /** Which of these users have any session. */
  async usersWithSessions(userIds: number[]): Promise<number[]> {
    const found = await Promise.all(userIds.map((id) => this.redis.exists(this.keys.userSessions(id))));
    return userIds.filter((_, i) => found[i] === 1);
  }

  /**
   * Every live session, a SCAN step at a time (on a cluster, every master), handed to `onBatch`;
   * a session SCAN returns twice is handed twice. For the rare look at all of them (a whole table
   * of users or devices rewritten by hand).
   */
  async forEachSession(onBatch: (sessions: RevokedSession[]) => Promise<void>): Promise<void> {
    for (const node of keyHolders(this.redis)) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', this.keys.sessionPattern, 'COUNT', 1000);
        cursor = next;
        const sids = keys.map(this.keys.sessionIdOfKey);
        if (sids.length > 0) await onBatch(await this.withSessions(sids));
      } while (cursor !== '0');
    }
  }

  /** The sessions of these ids that still exist, by id. */
  async sessionsById(sessionIds: string[]): Promise<Map<string, RevokedSession>> {
    return new Map((await this.withSessions(sessionIds)).map((s) => [s.sessionId, s]));
  }

  /** The sessions of these ids that still exist. */
  private async withSessions(sids: string[]): Promise<RevokedSession[]> {
    const unique = [...new Set(sids)];
    const raws = await this.getMany(unique.map((sid) => this.keys.session(sid)));
    return unique.flatMap((sessionId, i) => (raws[i] ? [{ sessionId, ...(JSON.parse(raws[i] as string) as Session) }] : []));
  }

  /** GETs of keys that may live in different slots (no MGET); sent together, answered in one round trip. */
  private getMany(keys: string[]): Promise<Array<string | null>> {
    return Promise.all(keys.map((key) => this.redis.get(key)));
  }
}
