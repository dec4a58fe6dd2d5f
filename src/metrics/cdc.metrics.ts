import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { CdcStatus } from '../cdc/cdc-status';
import { AppConfig } from '../config/app-config';
import { MetricsRegistry } from './metrics.registry';

/**
 * Change capture's lag as /health shows it, labelled by database (one leader per database); no sample
 * unless this process leads the binlog stream, so a standby or CDC_MODE=off never reports a lag of 0.
 */
@Injectable()
export class CdcMetrics {
  constructor(registry: MetricsRegistry, status: CdcStatus, config: AppConfig) {
    const labels = { database: config.DB_NAME };
    new Gauge({
      name: 'hi_cdc_lag_seconds',
      help: 'seconds the cache may trail the database (change capture leader only)',
      labelNames: ['database'],
      registers: [registry],
      collect() {
        this.reset();
        const lag = status.lagSeconds();
        if (lag !== null) this.set(labels, lag);
      },
    });
    new Gauge({
      name: 'hi_cdc_bytes_behind',
      help: "binlog bytes between the server's last write and what change capture has applied (leader only)",
      labelNames: ['database'],
      registers: [registry],
      collect() {
        this.reset();
        if (status.role === 'leader' && status.bytesBehind !== null) this.set(labels, status.bytesBehind);
      },
    });
  }
}
