import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { CacheEventBus } from './cache-events';
import { CacheGate } from './cache-gate';
import { CacheKeys } from './cache-keys';

/**
 * Removes cache keys together with their fill leases, so that a reader still holding a lease from
 * before the change can no longer write its stale row back (see CacheAsideService).
 */
@Injectable()
export class CacheInvalidator {
  private readonly logger = new Logger(CacheInvalidator.name);

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly gate: CacheGate,
    private readonly events: CacheEventBus,
  ) {}

  /** Throws when Redis cannot be reached; callers that must not lose it use the outbox. */
  async invalidate(keys: Iterable<string>): Promise<void> {
    const unique = [...new Set(keys)];
    if (unique.length === 0) return;
    const all = unique.flatMap((key) => [key, CacheKeys.lease(key)]);
    try {
      // Batches go out together (one pipeline on the connection): a 10,000-row change costs about
      // one round trip, not forty, and no single command holds Redis for long.
      const batches: Array<Promise<number>> = [];
      for (let i = 0; i < all.length; i += 1000) batches.push(this.redis.unlink(...all.slice(i, i + 1000)));
      await Promise.all(batches);
      this.events.emit('cache.invalidated', { keys: unique });
    } catch (err) {
      this.logger.warn(`invalidation of ${unique.length} key(s) failed: ${(err as Error).message}`);
      this.gate.close(`an invalidation failed (${(err as Error).message})`);
      this.events.emit('cache.invalidation-failed', { keys: unique });
      throw err;
    }
  }
}
