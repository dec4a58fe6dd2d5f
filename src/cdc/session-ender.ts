import { Injectable } from '@nestjs/common';
import { SessionIntegrity } from '../device/session-integrity.service';
import { SessionEnding } from '../session/session-ending.policy';
import { SessionService } from '../session/session.service';

/**
 * Ends the sessions that a captured row change made invalid. The binlog may be behind the
 * database (a user enabled again since, a device moved back, the password changed once more), so
 * the change only names the sessions to look at; MySQL as it is now decides which of them end,
 * and why.
 */
@Injectable()
export class SessionEnder {
  constructor(
    private readonly sessions: SessionService,
    private readonly integrity: SessionIntegrity,
  ) {}

  async end(endings: SessionEnding[]): Promise<void> {
    const passwordChanged = new Set(endings.flatMap((e) => (e.kind === 'password' ? [e.userId] : [])));
    await this.integrity.endInvalid(await this.sessions.sessionsTouchedBy(endings), 'change capture', passwordChanged);
  }

  /**
   * Holds every live session against MySQL: after a whole table of users or devices was rewritten
   * at once (TRUNCATE, DROP, RENAME, ALTER, DML logged as a statement), which names no row. A
   * session of a user or device that is gone ends; so does one whose user id now belongs to
   * someone else (a TRUNCATE resets AUTO_INCREMENT), as it does not stand on that user's password.
   * Returns how many ended.
   */
  async endEveryInvalid(): Promise<number> {
    let ended = 0;
    await this.sessions.forEachSession(async (batch) => {
      ended += (await this.integrity.endInvalid(batch, 'change capture')).length;
    });
    return ended;
  }
}
