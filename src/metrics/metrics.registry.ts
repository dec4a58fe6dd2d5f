import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * One registry per application instead of prom-client's global one: tests run several apps in one
 * process, and each must count only its own traffic (and none may fail on a metric registered twice).
 */
export class MetricsRegistry extends Registry {
  static create(): MetricsRegistry {
    const registry = new MetricsRegistry();
    collectDefaultMetrics({ register: registry });
    return registry;
  }
}
