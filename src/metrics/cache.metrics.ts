import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { scopeOfKey } from '../cache/cache-keys';
import { CacheEvents, OnCacheEvent } from '../cache/cache-events';
import { CacheStats } from '../cache/cache-stats';
import { MetricsRegistry } from './metrics.registry';

function countByEntity(keys: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(scopeOfKey(key), (counts.get(scopeOfKey(key)) ?? 0) + 1);
  return counts;
}

/**
 * Hits, misses and hit ratio per entity (go-zero's dbcache hit_ratio line, as a scrape), read from
 * CacheStats when scraped; invalidated keys and failed invalidations as they happen.
 */
@Injectable()
export class CacheMetrics {
  private readonly invalidated: Counter<'entity'>;
  private readonly failed: Counter<'entity'>;

  constructor(registry: MetricsRegistry, stats: CacheStats) {
    const labelNames = ['entity'] as const;
    const registers = [registry];
    new Counter({
      name: 'hi_cache_hits_total',
      help: 'cache-aside reads answered from Redis, by entity',
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const [entity, c] of Object.entries(stats.snapshot())) this.inc({ entity }, c.hits);
      },
    });
    new Counter({
      name: 'hi_cache_misses_total',
      help: 'cache-aside reads that went to MySQL, by entity',
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const [entity, c] of Object.entries(stats.snapshot())) this.inc({ entity }, c.misses);
      },
    });
    new Counter({
      name: 'hi_cache_foreign_values_total',
      help: 'cached values that were not a valid row or id of the entity (another layout, garbage), treated as misses, by entity',
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const [entity, c] of Object.entries(stats.snapshot())) this.inc({ entity }, c.foreign);
      },
    });
    new Gauge({
      name: 'hi_cache_hit_ratio',
      help: 'hits / (hits + misses) since start, by entity',
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const [entity, c] of Object.entries(stats.snapshot())) this.set({ entity }, c.hitRatio);
      },
    });
    this.invalidated = new Counter({ name: 'hi_cache_invalidated_keys_total', help: 'cache keys deleted by invalidation, by entity', labelNames, registers });
    this.failed = new Counter({
      name: 'hi_cache_invalidation_failed_keys_total',
      help: 'cache keys whose invalidation failed (Redis unreachable; the outbox retries them), by entity',
      labelNames,
      registers,
    });
  }

  @OnCacheEvent('cache.invalidated')
  countInvalidated({ keys }: CacheEvents['cache.invalidated']): void {
    countByEntity(keys).forEach((n, entity) => this.invalidated.inc({ entity }, n));
  }

  @OnCacheEvent('cache.invalidation-failed')
  countFailed({ keys }: CacheEvents['cache.invalidation-failed']): void {
    countByEntity(keys).forEach((n, entity) => this.failed.inc({ entity }, n));
  }
}
