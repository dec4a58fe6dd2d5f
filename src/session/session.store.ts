import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { KickReason } from './kick-reason';

export interface Session {
  userId: number;
  identifier: string;
  issuedAt: number;
}

export interface RevokedSession extends Session {
  sessionId: string;
}

/** The Redis layout of CONTRACT section 4; each change of it is one atomic script. */
export const SessionKeys = {
  session: (sid: string) => `session:${sid}`,
  deviceSession: (identifier: string) => `device:session:${identifier}`,
  userSessions: (userId: number | string) => `user_sessions:${userId}`,
  revoked: (sid: string) => `revoked:${sid}`,
};

// Shared by the scripts: ends one session, removing all three entries, and remembers why.
const REVOKE_ONE = `
local function revoke(sid, reason, reasonTtl)
  local raw = redis.call('GET', 'session:' .. sid)
  if not raw then return false end
  local s = cjson.decode(raw)
  redis.call('DEL', 'session:' .. sid)
  redis.call('ZREM', 'user_sessions:' .. string.format('%d', s.userId), sid)
  local dk = 'device:session:' .. s.identifier
  if redis.call('GET', dk) == sid then redis.call('DEL', dk) end
  if reason ~= '' then redis.call('SET', 'revoked:' .. sid, reason, 'EX', reasonTtl) end
  return raw
end
`;

// KEYS: session, device:session, user_sessions. ARGV: sid, json, ttl, now, reasonTtl.
// One live session per device: the device's previous session is revoked as `replaced`.
const ISSUE = `${REVOKE_ONE}
local previous = redis.call('GET', KEYS[2])
local replaced = false
if previous and previous ~= ARGV[1] then replaced = revoke(previous, 'replaced', ARGV[5]) end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', tonumber(ARGV[4]) - tonumber(ARGV[3]) * 1000)
redis.call('EXPIRE', KEYS[3], ARGV[3])
if replaced then return {previous, replaced} end
return false`;

// ARGV: reason, reasonTtl, sid... Returns {sid, json} pairs of the sessions it ended.
const REVOKE = `${REVOKE_ONE}
local out = {}
for i = 3, #ARGV do
  local raw = revoke(ARGV[i], ARGV[1], ARGV[2])
  if raw then table.insert(out, ARGV[i]); table.insert(out, raw) end
end
return out`;

// KEYS: user_sessions. ARGV: reason, reasonTtl.
const REVOKE_USER = `${REVOKE_ONE}
local out = {}
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local raw = revoke(sid, ARGV[1], ARGV[2])
  if raw then table.insert(out, sid); table.insert(out, raw) end
end
redis.call('DEL', KEYS[1])
return out`;

interface SessionScripts {
  hiSessionIssue(...args: Array<string | number>): Promise<[string, string] | null>;
  hiSessionRevoke(...args: Array<string | number>): Promise<string[]>;
  hiSessionRevokeUser(...args: Array<string | number>): Promise<string[]>;
}

@Injectable()
export class SessionStore {
  private readonly scripts: SessionScripts;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly config: AppConfig,
  ) {
    redis.defineCommand('hiSessionIssue', { numberOfKeys: 3, lua: ISSUE });
    redis.defineCommand('hiSessionRevoke', { numberOfKeys: 0, lua: REVOKE });
    redis.defineCommand('hiSessionRevokeUser', { numberOfKeys: 1, lua: REVOKE_USER });
    this.scripts = redis as unknown as SessionScripts;
  }

  /** How long a revoked token keeps telling why: one session TTL or 24 h, whichever is shorter. */
  get reasonTtl(): number {
    return Math.min(this.config.SESSION_TTL_SECONDS, 86400);
  }

  /** Stores a new session; returns the device's previous session if this replaced one. */
  async issue(sessionId: string, session: Session): Promise<RevokedSession | null> {
    const ttl = this.config.SESSION_TTL_SECONDS;
    const replaced = await this.scripts.hiSessionIssue(
      SessionKeys.session(sessionId),
      SessionKeys.deviceSession(session.identifier),
      SessionKeys.userSessions(session.userId),
      sessionId,
      JSON.stringify(session),
      ttl,
      session.issuedAt,
      this.reasonTtl,
    );
    return replaced ? { sessionId: replaced[0], ...(JSON.parse(replaced[1]) as Session) } : null;
  }

  async get(sessionId: string): Promise<Session | null> {
    const raw = await this.redis.get(SessionKeys.session(sessionId));
    return raw ? (JSON.parse(raw) as Session) : null;
  }

  async revokedReason(sessionId: string): Promise<string | null> {
    return this.redis.get(SessionKeys.revoked(sessionId));
  }

  /** Ends sessions; `logout` leaves no reason behind, so the token is simply unknown afterwards. */
  async revoke(sessionIds: string[], reason: KickReason): Promise<RevokedSession[]> {
    if (sessionIds.length === 0) return [];
    const flat = await this.scripts.hiSessionRevoke(reason === 'logout' ? '' : reason, this.reasonTtl, ...sessionIds);
    return pairs(flat);
  }

  async revokeUser(userId: number, reason: KickReason): Promise<RevokedSession[]> {
    return pairs(await this.scripts.hiSessionRevokeUser(SessionKeys.userSessions(userId), reason, this.reasonTtl));
  }

  /** The current session of each device, with the session itself (one MGET each way). */
  async currentSessionsOfDevices(identifiers: string[]): Promise<RevokedSession[]> {
    if (identifiers.length === 0) return [];
    const sids = (await this.redis.mget(identifiers.map(SessionKeys.deviceSession))).filter((sid): sid is string => sid !== null);
    return this.withSessions(sids);
  }

  /** The sessions of these ids that still exist. */
  private async withSessions(sids: string[]): Promise<RevokedSession[]> {
    if (sids.length === 0) return [];
    const raws = await this.redis.mget(sids.map(SessionKeys.session));
    return sids.flatMap((sessionId, i) => (raws[i] ? [{ sessionId, ...(JSON.parse(raws[i] as string) as Session) }] : []));
  }

  /** Every live session of these users (a pipeline of ZRANGE, then one MGET). */
  async sessionsOfUsers(userIds: number[]): Promise<RevokedSession[]> {
    if (userIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    userIds.forEach((id) => pipeline.zrange(SessionKeys.userSessions(id), 0, -1));
    const sids = ((await pipeline.exec()) ?? []).flatMap(([err, result]) => {
      if (err) throw err;
      return result as string[];
    });
    return this.withSessions(sids);
  }

  /** Which of these users have any session (one pipeline of EXISTS). */
  async usersWithSessions(userIds: number[]): Promise<number[]> {
    if (userIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    userIds.forEach((id) => pipeline.exists(SessionKeys.userSessions(id)));
    const results = (await pipeline.exec()) ?? [];
    return userIds.filter((_, i) => results[i]?.[1] === 1);
  }

  /** Which of these sessions no longer exist (a pipeline of EXISTS). */
  async missing(sessionIds: string[]): Promise<Set<string>> {
    if (sessionIds.length === 0) return new Set();
    const pipeline = this.redis.pipeline();
    sessionIds.forEach((sid) => pipeline.exists(SessionKeys.session(sid)));
    const results = (await pipeline.exec()) ?? [];
    return new Set(sessionIds.filter((_, i) => results[i]?.[0] === null && results[i]?.[1] === 0));
  }
}

function pairs(flat: string[]): RevokedSession[] {
  const out: RevokedSession[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push({ sessionId: flat[i], ...(JSON.parse(flat[i + 1]) as Session) });
  return out;
}
