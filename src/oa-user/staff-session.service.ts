import { Inject, Injectable, Logger } from '@nestjs/common';
import { RedisClient } from '../redis/redis-client';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { AppConfig } from '../config/app-config';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { newToken, sessionIdOf } from '../session/token';
import { UserStatus } from '../common/user-status';
import { passwordFingerprint } from '../session/session-ending.policy';
import { OaUser } from './oa-user.entity';
import { OaUserRepository } from './oa-user.repository';

/** Why a staff session ended, in its log line. */
export type StaffSessionEndReason = 'logout' | 'password_changed' | 'disabled' | 'reset';

export interface StaffSession {
  sessionId: string;
  staff: OaUser;
}

/** `oa_session:{sid}`: the staff member, when it was issued, and the fingerprint of the password it stands on. */
interface StoredStaffSession {
  oaUserId: number;
  issuedAt: number;
  pw?: string;
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
  /** The same context and fields as a client session's end (SessionLog), with `staffId` for the user. */
  private readonly logger = new Logger('Sessions');

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly config: AppConfig,
    private readonly staff: OaUserRepository,
  ) {}

  /**
   * A session of the staff member, standing on the password the login checked (`staff` as it read
   * the row): a new password ends it even when it was issued after the change's revokeAll ran (a
   * login with the old password racing the change).
   */
  async issue(staff: Pick<OaUser, 'id' | 'passwordHash'>): Promise<string> {
    const oaUserId = staff.id;
    const token = newToken();
    const sid = sessionIdOf(token);
    const ttl = this.config.SESSION_TTL_SECONDS;
    const stored: StoredStaffSession = { oaUserId, issuedAt: Date.now(), pw: passwordFingerprint(staff.passwordHash) };
    // Two keys in two slots on a cluster: the session first, then its place in the member's set.
    await this.redis.set(staffSessionKey(sid), JSON.stringify(stored), 'EX', ttl);
    await this.redis.multi().zadd(staffSessionsKey(oaUserId), Date.now(), sid).expire(staffSessionsKey(oaUserId), ttl).exec();
    return token;
  }

  async authenticate(token: string | null): Promise<StaffSession> {
    if (!token) throw new AppError(ErrorCode.UNAUTHORIZED);
    const sessionId = sessionIdOf(token);
    const raw = await this.redis.get(staffSessionKey(sessionId));
    if (!raw) throw new AppError(ErrorCode.UNAUTHORIZED);
    const stored = JSON.parse(raw) as StoredStaffSession;
    const staff = await this.staff.findById(stored.oaUserId);
    if (!staff || staff.status !== UserStatus.Active) throw new AppError(ErrorCode.UNAUTHORIZED);
    // Sessions from before fingerprints were kept have none and stand until they end otherwise.
    if (stored.pw !== undefined && stored.pw !== passwordFingerprint(staff.passwordHash)) {
      if ((await this.redis.unlink(staffSessionKey(sessionId))) > 0) this.logEnded(sessionId, staff.id, 'password_changed', 'the check at its next use');
      await this.redis.zrem(staffSessionsKey(staff.id), sessionId);
      throw new AppError(ErrorCode.UNAUTHORIZED);
    }
    return { sessionId, staff };
  }

  /** Ends one staff session (POST /oa/auth/logout). */
  async revoke({ sessionId, staff }: StaffSession, by: string): Promise<void> {
    const ended = await this.redis.unlink(staffSessionKey(sessionId));
    await this.redis.zrem(staffSessionsKey(staff.id), sessionId);
    if (ended > 0) this.logEnded(sessionId, staff.id, 'logout', by);
  }

  /**
   * Ends every session of a staff user: a password set or the account disabled by an admin
   * (`by` names who), or a reset from the command line. One log line per session that was live.
   */
  async revokeAll(oaUserId: number, reason: StaffSessionEndReason, by: string): Promise<void> {
    const sids = await this.redis.zrange(staffSessionsKey(oaUserId), 0, -1);
    // One UNLINK per session (a staff member has few), so each line is written for a session this call ended.
    const ended = await Promise.all(sids.map((sid) => this.redis.unlink(staffSessionKey(sid))));
    await this.redis.unlink(staffSessionsKey(oaUserId));
    sids.forEach((sid, i) => ended[i] > 0 && this.logEnded(sid, oaUserId, reason, by));
  }

  private logEnded(sid: string, staffId: number, reason: StaffSessionEndReason, by: string): void {
    const sessionId = sid.slice(0, 12);
    this.logger.log({ msg: `staff session ${sessionId} (staff #${staffId}) ended: ${reason}, by ${by}`, sessionId, staffId, reason, actor: by });
  }
}
