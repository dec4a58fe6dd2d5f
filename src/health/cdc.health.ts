import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { CdcStatus } from '../cdc/cdc-status';

/**
 * Reports change capture's mode, role and lag. Informational: a standby or a lagging listener
 * does not make the process unready, since every request is still served from MySQL and Redis.
 */
@Injectable()
export class CdcHealthIndicator {
  constructor(
    private readonly status: CdcStatus,
    private readonly health: HealthIndicatorService,
  ) {}

  check(key: 'cdc') {
    const { mode, role, connected, lagSeconds, bytesBehind, applied, checkpoint, lastEventAt, reconnects, lastError } = this.status.snapshot();
    return this.health.check(key).up({ mode, role, connected, lagSeconds, bytesBehind, applied, checkpoint, lastEventAt, reconnects, lastError });
  }
}
