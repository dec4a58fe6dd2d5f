import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { OnSessionEvent, SessionEvents } from '../session/session-events';
import { MetricsRegistry } from './metrics.registry';

/** Sessions this process ended, by reason (migrated, unbound, replaced, logout, disabled, deleted...). */
@Injectable()
export class SessionMetrics {
  private readonly revoked: Counter<'reason'>;

  constructor(registry: MetricsRegistry) {
    this.revoked = new Counter({
      name: 'hi_sessions_revoked_total',
      help: 'sessions revoked by this process, by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
  }

  @OnSessionEvent('session.ended')
  count({ ended }: SessionEvents['session.ended']): void {
    ended.forEach(({ reason }) => this.revoked.inc({ reason }));
  }
}
