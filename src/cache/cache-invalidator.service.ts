import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { CacheGate } from './cache-gate';
import { CacheKeys } from './cache-keys';

export interface InvalidationListener {
  onInvalidated(keys: string[]): void;
  onInvalidationFailed(keys: string[], err: unknown): void;
}

/**
 * Removes cache keys together with their fill leases, so that a reader still holding a lease from
 * before the change can no longer write its stale row back (see CacheAsideService).
 */
@Injectable()
export class CacheInvalidator {
  private readonly logger = new Logger(CacheInvalidator.name);
  private readonly listeners: InvalidationListener[] = [];

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly gate: CacheGate,
  ) {}

  addListener(listener: InvalidationListener): void {
    this.listeners.push(listener);
  }

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
      this.listeners.forEach((l) => l.onInvalidated(unique));
    } catch (err) {
      this.logger.warn(`invalidation of ${unique.length} key(s) failed: ${(err as Error).message}`);
      this.gate.close(`an invalidation failed (${(err as Error).message})`);
      this.listeners.forEach((l) => l.onInvalidationFailed(unique, err));
      throw err;
    }
  }
}
