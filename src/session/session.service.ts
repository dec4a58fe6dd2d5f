import { Injectable } from '@nestjs/common';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { isKickReason, KickReason, REVOKED_ERROR } from './kick-reason';
import { SessionEnding, standsOn } from './session-ending.policy';
import { SessionEventBus } from './session-events';
import { RevokedSession, Session, SessionStore, StoredSession } from './session.store';
import { newToken, sessionIdOf } from './token';

export interface AuthenticatedSession extends Session {
  sessionId: string;
  /**
   * With `withUserRow`: the user's row as the cache holds it (raw; null when not cached), read in
   * the session's round trip, for a route that serves the user (GET /me) to use instead of a GET.
   */
  userRow?: string | null;
}

/**
 * Who or what ended a session, for the log line every end gets: `user 12 (device phone-1)`,
 * `staff #3 (admin)`, `change capture`, `socket sweep`, `login of device X`.
 */
export type EndedBy = string;

/** A process forgets when it last wrote a session's use once it remembers this many. */
const TOUCHES_REMEMBERED = 50_000;

/** Client sessions: issued on login, checked on every request and socket, revoked with a reason. */
@Injectable()
export class SessionService {
  /** When this process last wrote each session's use: a burst of requests costs one write. */
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly store: SessionStore,
    private readonly events: SessionEventBus,
  ) {}

  /**
   * A new session of the device; the one it had ends as `replaced`. `pw`: the fingerprint of the
   * password the user has as the caller read it (passwordFingerprint), so that a password change
   * that commits meanwhile ends this session too.
   */
  async issue(userId: number, identifier: string, pw: string): Promise<{ token: string; sessionId: string }> {
    const token = newToken();
    const sessionId = sessionIdOf(token);
    const replaced = await this.store.issue(sessionId, { userId, identifier, issuedAt: Date.now(), pw: [pw] });
    if (replaced === null) throw new AppError(ErrorCode.SESSION_REPLACED, 'replaced: another login of this device came first');
    this.announce(replaced, 'replaced', `login of device ${identifier}`);
    return { token, sessionId };
  }

  /** The session of a token, or the error that tells the client why it has none. Counts as use. */
  async authenticate(token: string | null, options: { withUserRow?: boolean } = {}): Promise<AuthenticatedSession> {
    if (!token) throw new AppError(ErrorCode.UNAUTHORIZED);
    const sessionId = sessionIdOf(token);
    if (options.withUserRow) {
      const { stored, userRow } = await this.store.readWithUserRow(sessionId);
      if (stored) return { sessionId, ...this.used(sessionId, stored), userRow };
    } else {
      const stored = await this.store.read(sessionId);
      if (stored) return { sessionId, ...this.used(sessionId, stored) };
    }
    const reason = await this.store.revokedReason(sessionId);
    throw new AppError(isKickReason(reason) ? REVOKED_ERROR[reason] : ErrorCode.UNAUTHORIZED);
  }

  /** Whether the session lives; a socket event of a live session counts as its use. */
  async checkAlive(sessionId: string): Promise<boolean> {
    const stored = await this.store.read(sessionId);
    if (stored) this.used(sessionId, stored);
    return stored !== null;
  }

  /** Sessions with an open socket are in use: the sweep records it for each. */
  async touchAll(sessionIds: string[]): Promise<void> {
    await Promise.all(sessionIds.map((sid) => this.checkAlive(sid)));
  }

  /**
   * Records a use, at most once per touch interval per session (the compare-and-set lets one of
   * several processes through): a use within the interval moves nothing. Never delays the caller.
   */
  private used(sessionId: string, stored: StoredSession): Session {
    const now = Date.now();
    const interval = this.store.touchIntervalSeconds * 1000;
    const { session } = stored;
    if (now - (session.activeAt ?? session.issuedAt) < interval || now - (this.touched.get(sessionId) ?? 0) < interval) return session;
    if (this.touched.size >= TOUCHES_REMEMBERED) this.touched.clear();
    this.touched.set(sessionId, now);
    // A rewrite that lost to another (a restamp, another process's touch) leaves the next use free to try.
    void this.store.rewrite(sessionId, stored, { activeAt: now }).then(
      (done) => void (done || this.touched.delete(sessionId)),
      () => this.touched.delete(sessionId),
    );
    return session;
  }

  async revoke(sessionIds: string[], reason: KickReason, by: EndedBy): Promise<RevokedSession[]> {
    return this.announce(await this.store.revoke(sessionIds, reason), reason, by);
  }

  async revokeUser(userId: number, reason: KickReason, by: EndedBy): Promise<RevokedSession[]> {
    return this.announce(await this.store.revokeUser(userId, reason), reason, by);
  }

  /**
   * Every session of these devices that was issued under `userId`. A device has at most one live
   * session (a login replaces the previous one), so its current session is the only candidate; one
   * it got since under another user (a fresh login, the token handed out after a migration) stays.
   */
  async revokeDevices(userId: number, identifiers: string[], reason: KickReason, by: EndedBy): Promise<RevokedSession[]> {
    const current = await this.store.currentSessionsOfDevices(identifiers);
    return this.revoke(
      current.filter((s) => s.userId === userId).map((s) => s.sessionId),
      reason,
      by,
    );
  }

  /** Ends every session of each user; users without sessions cost one pipelined EXISTS. */
  async revokeUsers(userIds: number[], reason: KickReason, by: EndedBy): Promise<RevokedSession[]> {
    const revoked: RevokedSession[] = [];
    for (const userId of await this.store.usersWithSessions(userIds)) revoked.push(...(await this.revokeUser(userId, reason, by)));
    return revoked;
  }

  /** The user's live sessions but `keep`, ended as `reason` (sign-out of the other devices). */
  async revokeOthers(userId: number, keep: string | null, reason: KickReason, by: EndedBy): Promise<RevokedSession[]> {
    const live = await this.store.sessionsOfUsers([userId]);
    return this.revoke(
      live.filter((s) => s.sessionId !== keep).map((s) => s.sessionId),
      reason,
      by,
    );
  }

  /**
   * Ends what a committed change ended (see session-ending.policy.ts). Users first: a user deleted
   * with its devices ends as `deleted`, and the device endings then find nothing left. One
   * revocation per (reason, user), so a bulk change costs a few round trips, not one per row.
   */
  async end(endings: SessionEnding[], by: EndedBy): Promise<RevokedSession[]> {
    const revoked: RevokedSession[] = [];
    for (const reason of ['deleted', 'disabled'] as const) {
      const userIds = endings.flatMap((e) => (e.kind === 'user' && e.reason === reason ? [e.userId] : []));
      revoked.push(...(await this.revokeUsers([...new Set(userIds)], reason, by)));
    }
    for (const ending of endings) {
      if (ending.kind !== 'password') continue;
      const live = await this.store.sessionsOfUsers([ending.userId]);
      const stale = live.filter((s) => s.userId === ending.userId && !standsOn(s, ending.fingerprint));
      revoked.push(
        ...(await this.revoke(
          stale.map((s) => s.sessionId),
          'password_changed',
          by,
        )),
      );
    }
    const devices = new Map<string, { reason: 'unbound' | 'migrated' | 'signed_out' | 'kicked'; userId: number; identifiers: string[] }>();
    for (const ending of endings) {
      if (ending.kind !== 'device') continue;
      const group = `${ending.reason}:${ending.userId}`;
      if (!devices.has(group)) devices.set(group, { reason: ending.reason, userId: ending.userId, identifiers: [] });
      devices.get(group)!.identifiers.push(ending.identifier);
    }
    for (const { reason, userId, identifiers } of devices.values()) revoked.push(...(await this.revokeDevices(userId, identifiers, reason, by)));
    return revoked;
  }

  /** The live sessions these endings would look at: the users' sessions and the devices' current ones. */
  async sessionsTouchedBy(endings: SessionEnding[]): Promise<RevokedSession[]> {
    const userIds = [...new Set(endings.flatMap((e) => (e.kind !== 'device' ? [e.userId] : [])))];
    const identifiers = [...new Set(endings.flatMap((e) => (e.kind === 'device' ? [e.identifier] : [])))];
    const found = [...(await this.store.sessionsOfUsers(userIds)), ...(await this.store.currentSessionsOfDevices(identifiers))];
    return [...new Map(found.map((s) => [s.sessionId, s])).values()];
  }

  /** Every live session, a batch at a time (SessionStore.forEachSession). */
  forEachSession(onBatch: (sessions: RevokedSession[]) => Promise<void>): Promise<void> {
    return this.store.forEachSession(onBatch);
  }

  /** The user's live sessions. */
  sessionsOfUser(userId: number): Promise<RevokedSession[]> {
    return this.store.sessionsOfUsers([userId]);
  }

  /** The current live session of each device, if any. */
  currentSessionsOfDevices(identifiers: string[]): Promise<RevokedSession[]> {
    return this.store.currentSessionsOfDevices(identifiers);
  }

  /**
   * Makes the session stand on these password fingerprints as well as (`add`) or instead of its
   * own: a password change keeps the session that made it. False when the session is gone.
   */
  async restamp(sessionId: string, pw: string[], mode: 'add' | 'replace'): Promise<boolean> {
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const stored = await this.store.read(sessionId);
      if (!stored) return false;
      const next = mode === 'add' ? [...new Set([...(stored.session.pw ?? []), ...pw])] : pw;
      if (await this.store.rewrite(sessionId, stored, { pw: next })) return true;
    }
    throw new AppError(ErrorCode.UNAVAILABLE, 'the session is changing too often; try again');
  }

  isAlive(sessionId: string): Promise<boolean> {
    return this.store.get(sessionId).then((s) => s !== null);
  }

  private announce(revoked: RevokedSession[], reason: KickReason, by: EndedBy): RevokedSession[] {
    if (revoked.length > 0) this.events.emit('session.ended', { ended: revoked.map((session) => ({ session, reason })), by });
    return revoked;
  }
}
