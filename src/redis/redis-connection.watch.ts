import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConnectionStateLog } from '../common/logging';
import { AppConfig } from '../config/app-config';
import { ClusterState, clusterState } from './cluster-state';
import { isCluster, RedisClient } from './redis-client';
import { REDIS_CLIENT } from './redis.constants';
import { redisAddress } from './redis.factory';

/** How often Redis is asked whether it answers, besides what the client's connection events say. */
const PROBE_MS = 5000;

/**
 * The service's Redis connection in the log, one line per change: lost (the connection closed, or
 * a PING got no answer: a paused or overloaded server keeps its connection open), regained (the
 * client is ready again and answers). On a Redis Cluster also the cluster's own state, as CLUSTER
 * INFO and a PING of every master tell it, when it changes. Failed commands meanwhile add no line:
 * the requests they fail log their cause on their own line.
 */
@Injectable()
export class RedisConnectionWatch implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Redis');
  private readonly state: ConnectionStateLog;
  private lastError?: string;
  private cluster?: string;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly onReady = () => this.ready();
  private readonly onError = (err: Error) => void (this.lastError = err.message);
  private readonly onClose = () => this.closed();

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    config: AppConfig,
  ) {
    this.state = new ConnectionStateLog(this.logger, 'redis', redisAddress(config));
  }

  onApplicationBootstrap(): void {
    this.redis.on('ready', this.onReady).on('error', this.onError).on('close', this.onClose);
    this.timer = setInterval(() => void this.probe(), PROBE_MS);
    this.timer.unref();
    if (isCluster(this.redis)) void this.probe();
  }

  /** Before Redis is closed on purpose: a shutdown is not an outage. */
  beforeApplicationShutdown(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.redis.off('ready', this.onReady).off('error', this.onError).off('close', this.onClose);
  }

  private ready(): void {
    this.lastError = undefined;
    this.state.regained();
  }

  private closed(): void {
    if (this.redis.status === 'ready') return;
    this.state.lost(this.lastError ?? 'connection closed');
  }

  /** A PING (single server) or the cluster's state: also a server that keeps the connection but stopped answering. */
  async probe(): Promise<void> {
    try {
      if (isCluster(this.redis)) this.clusterChanged(await clusterState(this.redis));
      else await this.redis.ping();
      if (!this.stopped && this.redis.status === 'ready') this.state.regained();
    } catch (err) {
      if (!this.stopped) this.state.lost((err as Error).message);
    }
  }

  private clusterChanged(state: ClusterState): void {
    const seen = `${state.state} ${state.mastersAnswering}/${state.masters}`;
    if (this.stopped || seen === this.cluster) return;
    const first = this.cluster === undefined;
    this.cluster = seen;
    const healthy = state.state === 'ok' && state.mastersAnswering === state.masters;
    if (first && healthy) return; // the start-up line says where it connected
    const line = {
      msg: `Redis Cluster state ${state.state}: ${state.mastersAnswering} of ${state.masters} masters answer, ${state.slotsOk} of ${state.slotsAssigned} slots ok`,
      dependency: 'redis',
      state: 'cluster',
      clusterState: state.state,
      masters: state.masters,
      mastersAnswering: state.mastersAnswering,
      slotsOk: state.slotsOk,
      slotsFail: state.slotsFail,
    };
    if (healthy) this.logger.log(line);
    else this.logger.error(line);
  }
}
