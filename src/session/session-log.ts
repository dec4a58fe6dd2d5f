import { Injectable, Logger } from '@nestjs/common';
import { OnSessionEvent, SessionEvents } from './session-events';

/**
 * One log line per ended session, on the process that ended it, whatever ended it: every end goes
 * through SessionService, which emits `session.ended` (logout, replaced, sign-out, unbind,
 * migration, disable, delete, password change, overflow, staff sign-out, change capture, the
 * socket sweep, a login's own check). The line says which session (`sessionId`: the first 12
 * characters of its id, which is the SHA-256 of the token, never the token), of which device and
 * user, why (`reason`), and who or what ended it (`actor`). Info level: an on-call operator asked
 * "why was this device logged out" finds the answer with `jq 'select(.context=="Sessions")'`.
 * A session that lapses (absolute or idle timeout) is ended by its Redis TTL, not by a process,
 * and writes no line.
 */
@Injectable()
export class SessionLog {
  private readonly logger = new Logger('Sessions');

  @OnSessionEvent('session.ended')
  write({ ended, by }: SessionEvents['session.ended']): void {
    for (const { session, reason } of ended) {
      const sessionId = session.sessionId.slice(0, 12);
      this.logger.log({
        msg: `session ${sessionId} of device ${session.identifier} (user ${session.userId}) ended: ${reason}, by ${by}`,
        sessionId,
        identifier: session.identifier,
        userId: session.userId,
        reason,
        actor: by,
      });
    }
  }
}
