import { CdcStatus } from '../cdc/cdc-status';
import { loadConfig } from '../config/app-config';
import { CdcMetrics } from './cdc.metrics';
import { MetricsRegistry } from './metrics.registry';

describe('CdcMetrics', () => {
  const config = loadConfig({ CDC_MODE: 'binlog', DB_NAME: 'hi' });

  it('exposes the lag and bytes behind of /health while this process leads, nothing otherwise', async () => {
    const registry = new MetricsRegistry();
    const status = new CdcStatus(config);
    new CdcMetrics(registry, status, config);

    expect(await registry.metrics()).not.toMatch(/^hi_cdc_\w+\{/m);

    status.role = 'leader';
    status.bytesBehind = 1234;
    status.appliedCommitAt = Date.now() - 2500;
    const text = await registry.metrics();
    expect(Number(/^hi_cdc_lag_seconds\{database="hi"\} (\S+)$/m.exec(text)?.[1])).toBeCloseTo(status.lagSeconds()!, 0);
    expect(text).toMatch(/^hi_cdc_bytes_behind\{database="hi"\} 1234$/m);

    status.role = 'standby';
    expect(await registry.metrics()).not.toMatch(/^hi_cdc_\w+\{/m);
  });
});
