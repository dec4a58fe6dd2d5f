import { Inject, Injectable, Logger } from '@nestjs/common';
import { isCluster, RedisClient, unlinkAll } from '../redis/redis-client';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { CacheEventBus } from './cache-events';
import { CacheGate } from './cache-gate';
import { leaseKey } from './cache-keys';

/**
 * Removes cache keys together with their fill leases, so that a reader still holding a lease from
 * before the change can no longer write its stale row back (see CacheAsideService).
 */
@Injectable()
export class CacheInvalidator {
  private readonly logger = new Logger(CacheInvalidator.name);

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly gate: CacheGate,
    private readonly events: CacheEventBus,
  ) {}

  /** Throws when Redis cannot be reached; callers that must not lose it use the outbox. */
  async invalidate(keys: Iterable<string>): Promise<void> {
    const unique = [...new Set(keys)];
    if (unique.length === 0) return;
    const cluster = isCluster(this.redis);
    const all = unique.flatMap((key) => [key, leaseKey(cluster, key)]);
    try {
      // Batches go out together (one pipeline per connection): a 10,000-row change costs about
      // one round trip per master, not forty, and no single command holds Redis for long.
      await unlinkAll(this.redis, all);
      this.events.emit('cache.invalidated', { keys: unique });
    } catch (err) {
      this.logger.warn(`invalidation of ${unique.length} key(s) failed: ${(err as Error).message}`);
      this.gate.close(`an invalidation failed (${(err as Error).message})`);
      this.events.emit('cache.invalidation-failed', { keys: unique });
      throw err;
    }
  }
}
