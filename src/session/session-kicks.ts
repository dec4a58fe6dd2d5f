import { Injectable, Logger } from '@nestjs/common';
import { KickReason } from './kick-reason';
import { RevokedSession } from './session.store';

export interface Kick {
  session: RevokedSession;
  reason: KickReason;
}

export type KickListener = (kicks: Kick[]) => void;

/**
 * Where revoked sessions are announced once Redis no longer holds them. The socket gateway
 * listens and kicks their connections on every process; the auth layer need not know sockets.
 */
@Injectable()
export class SessionKicks {
  private readonly logger = new Logger('SessionKicks');
  private readonly listeners: KickListener[] = [];

  listen(listener: KickListener): void {
    this.listeners.push(listener);
  }

  /** Never throws: the sessions are revoked already, and a kick that cannot be sent now is healed by the sweep. */
  announce(kicks: Kick[]): void {
    if (kicks.length === 0) return;
    for (const listener of this.listeners) {
      try {
        listener(kicks);
      } catch (err) {
        this.logger.warn(`kick of ${kicks.length} session(s) not sent: ${(err as Error).message}`);
      }
    }
  }
}
