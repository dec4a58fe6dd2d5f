import { Injectable } from '@nestjs/common';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { isKickReason, KickReason, REVOKED_ERROR } from './kick-reason';
import { SessionEnding } from './session-ending.policy';
import { SessionEventBus } from './session-events';
import { RevokedSession, Session, SessionStore } from './session.store';
import { newToken, sessionIdOf } from './token';

export interface AuthenticatedSession extends Session {
  sessionId: string;
  /**
   * With `withUserRow`: the user's row as the cache holds it (raw; null when not cached), read in
   * the session's round trip, for a route that serves the user (GET /me) to use instead of a GET.
   */
  userRow?: string | null;
}

/** Client sessions: issued on login, checked on every request and socket, revoked with a reason. */
@Injectable()
export class SessionService {
  constructor(
    private readonly store: SessionStore,
    private readonly events: SessionEventBus,
  ) {}

  /** A new session of the device; the one it had ends as `replaced`. */
  async issue(userId: number, identifier: string): Promise<{ token: string; sessionId: string }> {
    const token = newToken();
    const sessionId = sessionIdOf(token);
    const replaced = await this.store.issue(sessionId, { userId, identifier, issuedAt: Date.now() });
    if (replaced === null) throw new AppError(ErrorCode.SESSION_REPLACED, 'replaced: another login of this device came first');
    this.announce(replaced, 'replaced');
    return { token, sessionId };
  }

  /** The session of a token, or the error that tells the client why it has none. */
  async authenticate(token: string | null, options: { withUserRow?: boolean } = {}): Promise<AuthenticatedSession> {
    if (!token) throw new AppError(ErrorCode.UNAUTHORIZED);
    const sessionId = sessionIdOf(token);
    if (options.withUserRow) {
      const { session, userRow } = await this.store.getWithUserRow(sessionId);
      if (session) return { sessionId, ...session, userRow };
    } else {
      const session = await this.store.get(sessionId);
      if (session) return { sessionId, ...session };
    }
    const reason = await this.store.revokedReason(sessionId);
    throw new AppError(isKickReason(reason) ? REVOKED_ERROR[reason] : ErrorCode.UNAUTHORIZED);
  }

  async revoke(sessionIds: string[], reason: KickReason): Promise<RevokedSession[]> {
    return this.announce(await this.store.revoke(sessionIds, reason), reason);
  }

  async revokeUser(userId: number, reason: KickReason): Promise<RevokedSession[]> {
    return this.announce(await this.store.revokeUser(userId, reason), reason);
  }

  /**
   * Every session of these devices that was issued under `userId`. A device has at most one live
   * session (a login replaces the previous one), so its current session is the only candidate; one
   * it got since under another user (a fresh login, the token handed out after a migration) stays.
   */
  async revokeDevices(userId: number, identifiers: string[], reason: KickReason): Promise<RevokedSession[]> {
    const current = await this.store.currentSessionsOfDevices(identifiers);
    return this.revoke(current.filter((s) => s.userId === userId).map((s) => s.sessionId), reason);
  }

  /** Ends every session of each user; users without sessions cost one pipelined EXISTS. */
  async revokeUsers(userIds: number[], reason: KickReason): Promise<RevokedSession[]> {
    const revoked: RevokedSession[] = [];
    for (const userId of await this.store.usersWithSessions(userIds)) revoked.push(...(await this.revokeUser(userId, reason)));
    return revoked;
  }

  /**
   * Ends what a committed change ended (see session-ending.policy.ts). Users first: a user deleted
   * with its devices ends as `deleted`, and the device endings then find nothing left. One
   * revocation per (reason, user), so a bulk change costs a few round trips, not one per row.
   */
  async end(endings: SessionEnding[]): Promise<RevokedSession[]> {
    const revoked: RevokedSession[] = [];
    for (const reason of ['deleted', 'disabled'] as const) {
      const userIds = endings.flatMap((e) => (e.kind === 'user' && e.reason === reason ? [e.userId] : []));
      revoked.push(...(await this.revokeUsers([...new Set(userIds)], reason)));
    }
    const devices = new Map<string, { reason: 'unbound' | 'migrated'; userId: number; identifiers: string[] }>();
    for (const ending of endings) {
      if (ending.kind !== 'device') continue;
      const group = `${ending.reason}:${ending.userId}`;
      if (!devices.has(group)) devices.set(group, { reason: ending.reason, userId: ending.userId, identifiers: [] });
      devices.get(group)!.identifiers.push(ending.identifier);
    }
    for (const { reason, userId, identifiers } of devices.values()) revoked.push(...(await this.revokeDevices(userId, identifiers, reason)));
    return revoked;
  }

  /** The live sessions these endings would look at: the users' sessions and the devices' current ones. */
  async sessionsTouchedBy(endings: SessionEnding[]): Promise<RevokedSession[]> {
    const userIds = [...new Set(endings.flatMap((e) => (e.kind === 'user' ? [e.userId] : [])))];
    const identifiers = [...new Set(endings.flatMap((e) => (e.kind === 'device' ? [e.identifier] : [])))];
    const found = [...(await this.store.sessionsOfUsers(userIds)), ...(await this.store.currentSessionsOfDevices(identifiers))];
    return [...new Map(found.map((s) => [s.sessionId, s])).values()];
  }

  isAlive(sessionId: string): Promise<boolean> {
    return this.store.get(sessionId).then((s) => s !== null);
  }

  private announce(revoked: RevokedSession[], reason: KickReason): RevokedSession[] {
    if (revoked.length > 0) this.events.emit('session.ended', { ended: revoked.map((session) => ({ session, reason })) });
    return revoked;
  }
}
