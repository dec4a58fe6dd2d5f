import { Inject, Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { clusterState } from '../redis/cluster-state';
import { isCluster, RedisClient } from '../redis/redis-client';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { MetricsRegistry } from './metrics.registry';

/**
 * What the process knows of its Redis, read at scrape time: whether the client is connected and,
 * on a Redis Cluster, the cluster's state, its masters and the masters that answer a PING.
 */
@Injectable()
export class RedisMetrics {
  constructor(@Inject(REDIS_CLIENT) redis: RedisClient, registry: MetricsRegistry) {
    new Gauge({
      name: 'hi_redis_up',
      help: '1 when the Redis client is connected and ready',
      registers: [registry],
      collect() {
        this.set(redis.status === 'ready' ? 1 : 0);
      },
    });
    if (!isCluster(redis)) return;
    // One look at the cluster per scrape sets both; the first gauge is collected first.
    const ok = new Gauge({ name: 'hi_redis_cluster_state_ok', help: '1 when CLUSTER INFO says cluster_state:ok (every slot has a master)', registers: [] });
    new Gauge({
      name: 'hi_redis_cluster_masters',
      help: 'masters of the Redis Cluster, by whether they answer a PING',
      labelNames: ['answering'],
      registers: [registry],
      async collect() {
        try {
          const state = await clusterState(redis);
          ok.set(state.state === 'ok' ? 1 : 0);
          this.set({ answering: 'yes' }, state.mastersAnswering);
          this.set({ answering: 'no' }, state.masters - state.mastersAnswering);
        } catch {
          ok.set(0);
        }
      },
    });
    registry.registerMetric(ok);
  }
}
