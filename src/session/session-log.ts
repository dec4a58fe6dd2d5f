import { Injectable, Logger } from '@nestjs/common';
import { OnSessionEvent, SessionEvents } from './session-events';

/**
 * One log line per ended session, on the process that ended it: which session (the first 12
 * characters of its id, which is the SHA-256 of the token, never the token), of which device and
 * user, why, and who or what ended it. Info level: an on-call operator asked "why was this
 * device logged out" finds the answer with `jq 'select(.context=="Sessions")'`.
 */
@Injectable()
export class SessionLog {
  private readonly logger = new Logger('Sessions');

  @OnSessionEvent('session.ended')
  write({ ended, by }: SessionEvents['session.ended']): void {
    for (const { session, reason } of ended) {
      this.logger.log({
        msg: `session ${session.sessionId.slice(0, 12)} of device ${session.identifier} (user ${session.userId}) ended: ${reason}, by ${by}`,
        sessionId: session.sessionId.slice(0, 12),
        userId: session.userId,
        identifier: session.identifier,
        reason,
        by,
      });
    }
  }
}
