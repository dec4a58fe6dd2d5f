import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { SessionKicks } from '../session/session-kicks';
import { MetricsRegistry } from './metrics.registry';

/** Sessions this process revoked, by reason (migrated, unbound, replaced, logout, disabled, deleted). */
@Injectable()
export class SessionMetrics {
  constructor(registry: MetricsRegistry, kicks: SessionKicks) {
    const revoked = new Counter({
      name: 'hi_sessions_revoked_total',
      help: 'sessions revoked by this process, by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
    kicks.listen((list) => list.forEach(({ reason }) => revoked.inc({ reason })));
  }
}
