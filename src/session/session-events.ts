import { Injectable } from '@nestjs/common';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';
import { KickReason } from './kick-reason';
import { RevokedSession } from './session.store';

export interface SessionEnd {
  session: RevokedSession;
  reason: KickReason;
}

/**
 * The session lifecycle's events, in one typed map. Who reacts to them is declared where it
 * reacts, with @OnSessionEvent: the socket gateway kicks (on every process, through the Redis
 * adapter), the metrics count, the log writes a line.
 */
export interface SessionEvents {
  /** Sessions that ended, each with its reason, once Redis no longer holds them; `by`: who or what ended them. */
  'session.ended': { ended: SessionEnd[]; by: string };
}

export const OnSessionEvent = <K extends keyof SessionEvents>(name: K) => OnEvent(name);

@Injectable()
export class SessionEventBus {
  constructor(private readonly emitter: EventEmitter2) {}

  /**
   * Listeners run at once, in this tick. A listener that fails (the socket adapter closed at
   * shutdown) is logged and stops neither the others nor the caller: the sessions have ended
   * already, and a kick not sent now is sent by the sweep.
   */
  emit<K extends keyof SessionEvents>(name: K, payload: SessionEvents[K]): void {
    this.emitter.emit(name, payload);
  }
}
