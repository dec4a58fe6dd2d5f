import { Inject, Injectable } from '@nestjs/common';
import { RedisClient, unlinkAll } from '../redis/redis-client';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { AppConfig } from '../config/app-config';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { newToken, sessionIdOf } from '../session/token';
import { UserStatus } from '../common/user-status';
import { OaUser } from './oa-user.entity';
import { OaUserRepository } from './oa-user.repository';

export interface StaffSession {
  sessionId: string;
  staff: OaUser;
}

const staffSessionKey = (sid: string) => `oa_session:${sid}`;
const staffSessionsKey = (oaUserId: number) => `oa_user_sessions:${oaUserId}`;

/**
 * Staff sessions live under their own keys, so a staff token is unknown to the client guard and a
 * client token unknown here. The role is read from the (cached) OaUser row on every request, so a
 * role change or a disabled account takes effect at once.
 */
@Injectable()
export class StaffSessionService {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly config: AppConfig,
    private readonly staff: OaUserRepository,
  ) {}

  async issue(oaUserId: number): Promise<string> {
    const token = newToken();
    const sid = sessionIdOf(token);
    const ttl = this.config.SESSION_TTL_SECONDS;
    // Two keys in two slots on a cluster: the session first, then its place in the member's set.
    await this.redis.set(staffSessionKey(sid), JSON.stringify({ oaUserId, issuedAt: Date.now() }), 'EX', ttl);
    await this.redis.multi().zadd(staffSessionsKey(oaUserId), Date.now(), sid).expire(staffSessionsKey(oaUserId), ttl).exec();
    return token;
  }

  async authenticate(token: string | null): Promise<StaffSession> {
    if (!token) throw new AppError(ErrorCode.UNAUTHORIZED);
    const sessionId = sessionIdOf(token);
    const raw = await this.redis.get(staffSessionKey(sessionId));
    if (!raw) throw new AppError(ErrorCode.UNAUTHORIZED);
    const staff = await this.staff.findById((JSON.parse(raw) as { oaUserId: number }).oaUserId);
    if (!staff || staff.status !== UserStatus.Active) throw new AppError(ErrorCode.UNAUTHORIZED);
    return { sessionId, staff };
  }

  /** Ends one staff session (POST /oa/auth/logout). */
  async revoke({ sessionId, staff }: StaffSession): Promise<void> {
    await this.redis.unlink(staffSessionKey(sessionId));
    await this.redis.zrem(staffSessionsKey(staff.id), sessionId);
  }

  async revokeAll(oaUserId: number): Promise<void> {
    const sids = await this.redis.zrange(staffSessionsKey(oaUserId), 0, -1);
    await unlinkAll(this.redis, sids.map(staffSessionKey));
    await this.redis.unlink(staffSessionsKey(oaUserId));
  }
}
