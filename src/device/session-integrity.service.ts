import { Injectable } from '@nestjs/common';
import { KickReason } from '../session/kick-reason';
import { endingReason } from '../session/session-ending.policy';
import { EndedBy, SessionService } from '../session/session.service';
import { RevokedSession } from '../session/session.store';
import { DeviceRepository } from './device.repository';

export type EndedSession = RevokedSession & { reason: KickReason };

/**
 * Holds live sessions against what MySQL says now and ends those the policy says may not live.
 * Every path that could leave a session behind a change checks here once the change is visible:
 * a login right after issuing its session (a move that committed meanwhile is seen), change
 * capture after a hand-written change, and the socket sweep as the last safety net.
 */
@Injectable()
export class SessionIntegrity {
  constructor(
    private readonly devices: DeviceRepository,
    private readonly sessions: SessionService,
  ) {}

  /**
   * Issues a session of the device under `userId`, standing on the password fingerprint `pw` the
   * caller read, then holds it against MySQL as it is now: a change that committed while the
   * caller worked ended the sessions it could see, and this one may not have been among them; a
   * change that commits later sees this session and ends it itself. `ended` says why the session
   * did not survive the check.
   */
  async issue(userId: number, identifier: string, pw: string): Promise<{ token: string; sessionId: string; ended?: KickReason }> {
    const { token, sessionId } = await this.sessions.issue(userId, identifier, pw);
    const [ended] = await this.endInvalid([{ sessionId, userId, identifier, issuedAt: Date.now(), pw: [pw] }], `login of device ${identifier}`);
    return ended ? { token, sessionId, ended: ended.reason } : { token, sessionId };
  }

  /**
   * Ends the sessions among `candidates` that may not live now, each with its reason; returns them.
   * `passwordChanged`: users whose password change is being applied (sessions of theirs issued
   * before fingerprints were kept end too).
   */
  async endInvalid(candidates: RevokedSession[], by: EndedBy, passwordChanged: ReadonlySet<number> = new Set()): Promise<EndedSession[]> {
    if (candidates.length === 0) return [];
    const facts = await this.devices.sessionFacts(candidates);
    const byReason = new Map<KickReason, string[]>();
    candidates.forEach((session, i) => {
      const reason = endingReason(session, facts[i], passwordChanged.has(session.userId));
      if (reason) byReason.set(reason, [...(byReason.get(reason) ?? []), session.sessionId]);
    });
    const ended: EndedSession[] = [];
    for (const [reason, sids] of byReason) ended.push(...(await this.sessions.revoke(sids, reason, by)).map((s) => ({ ...s, reason })));
    return ended;
  }
}
