import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { clusterState } from '../redis/cluster-state';
import { isCluster, RedisClient } from '../redis/redis-client';
import { REDIS_CLIENT } from '../redis/redis.constants';

/**
 * Redis answers: a PING round trip; on a Redis Cluster also its state, which is down while any
 * slot has no master that answers (requests for those keys answer 503 then).
 */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly health: HealthIndicatorService,
  ) {}

  async isHealthy(key: 'redis', timeoutMs = 1000) {
    const indicator = this.health.check(key);
    const started = Date.now();
    try {
      await within(this.redis.ping(), timeoutMs);
      const roundTripMs = Date.now() - started;
      if (!isCluster(this.redis)) return indicator.up({ roundTripMs });
      const cluster = await within(clusterState(this.redis), timeoutMs);
      const ok = cluster.state === 'ok' && cluster.mastersAnswering === cluster.masters;
      return ok
        ? indicator.up({ roundTripMs, cluster })
        : indicator.down({ message: `cluster state ${cluster.state}, ${cluster.mastersAnswering} of ${cluster.masters} masters answer`, cluster });
    } catch (err) {
      return indicator.down({ message: (err as Error).message });
    }
  }
}

function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
