import Redis, { Cluster, ClusterOptions, RedisOptions } from 'ioredis';
import { clusterNodes } from '../config/app-config';
import type { RedisClient } from './redis-client';

export interface RedisConnection {
  REDIS_HOST: string;
  REDIS_PORT: number;
  REDIS_DB: number;
  REDIS_PASSWORD?: string;
  REDIS_CLUSTER_NODES?: string;
}

export function redisOptions(config: RedisConnection): RedisOptions {
  return {
    host: config.REDIS_HOST,
    port: config.REDIS_PORT,
    db: config.REDIS_DB,
    password: config.REDIS_PASSWORD,
    lazyConnect: true,
    // Fail fast while Redis is down: requests answer 503 at once instead of queueing behind a
    // reconnect, and the client keeps reconnecting in the background.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // A command in flight when the connection drops fails instead of waiting, unbounded, to be
    // sent again on a reconnect that may never come (it held a request, and its MySQL connection,
    // through shutdown); one that a paused Redis never answers fails after commandTimeout.
    autoResendUnfulfilledCommands: false,
    commandTimeout: 2000,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    // disconnect() of a connection already gone waits this long before it lets the process go
    // (ioredis's default is 2 s, which kept test workers and failed CLI runs alive after an outage).
    disconnectTimeout: 200,
  };
}

/**
 * The cluster client's options, in the spirit of the single server's: commands fail fast while
 * no master answers for their slot (no offline queue), a moved slot or a failover is followed
 * (MOVED/ASK redirections, a refresh of the slot map), reads and writes go to masters (a replica
 * may lag behind an invalidation). ioredis's automatic pipelining stays off: on a cluster it
 * mixes up the replies of a pipeline that holds scripts (ioredis #2109, "results[i] is not
 * iterable"); commands sent together still go out back to back on each master's connection.
 */
export function clusterOptions(config: RedisConnection, name: string): ClusterOptions {
  const { host: _host, port: _port, db: _db, lazyConnect: _lazy, enableOfflineQueue: _queue, retryStrategy: _retry, ...perNode } = redisOptions(config);
  return {
    redisOptions: { ...perNode, connectionName: name },
    lazyConnect: true,
    enableOfflineQueue: false,
    enableReadyCheck: true,
    scaleReads: 'master',
    maxRedirections: 16,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 2000,
    // A failover is noticed within two seconds even by a client that sends nothing to that master.
    slotsRefreshInterval: 2000,
    clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  };
}

/**
 * A connected client: the one server, or the cluster named by REDIS_CLUSTER_NODES. `once`: give
 * up at the first failed connection instead of reconnecting (the command line).
 */
export async function connectRedis(config: RedisConnection, name = 'hi-server', options: { once?: boolean } = {}): Promise<RedisClient> {
  const client: RedisClient = config.REDIS_CLUSTER_NODES
    ? new Cluster(clusterNodes(config.REDIS_CLUSTER_NODES), { ...clusterOptions(config, name), ...(options.once ? { clusterRetryStrategy: () => null } : {}) })
    : new Redis({ ...redisOptions(config), connectionName: name, ...(options.once ? { retryStrategy: () => null } : {}) });
  // Reported through failed commands, /health and the service's RedisConnectionWatch; kept here
  // for a first connection that fails, whose rejection says only "Connection is closed".
  let refused: Error | undefined;
  client.on('error', (err: Error) => void (refused ??= err));
  try {
    await client.connect();
  } catch (err) {
    if (client.status !== 'end') client.disconnect();
    throw refused ?? err;
  }
  return client;
}

/** Where the service's Redis is, as /admin/cache/health and `npm run cache -- test` report it. */
export function redisTarget(config: RedisConnection): { host: string; port: number; db: number; clusterNodes?: string } {
  if (!config.REDIS_CLUSTER_NODES) return { host: config.REDIS_HOST, port: config.REDIS_PORT, db: config.REDIS_DB };
  const [first] = clusterNodes(config.REDIS_CLUSTER_NODES);
  return { host: first.host, port: first.port, db: 0, clusterNodes: config.REDIS_CLUSTER_NODES };
}

/** Where the service's Redis is, for messages: `127.0.0.1:6379 db 0` or `cluster 10.0.0.1:7000,...`. */
export function describeRedis(config: RedisConnection): string {
  return config.REDIS_CLUSTER_NODES ? `cluster ${config.REDIS_CLUSTER_NODES}` : `${config.REDIS_HOST}:${config.REDIS_PORT} db ${config.REDIS_DB}`;
}

/** Where the service's Redis is, as the log's lines name it: `127.0.0.1:6379/0`, or `cluster 10.0.0.1:7000,...` (as configured). */
export function redisAddress(config: RedisConnection): string {
  return config.REDIS_CLUSTER_NODES
    ? `cluster ${config.REDIS_CLUSTER_NODES.replace(/\s+/g, '')}`
    : `${config.REDIS_HOST}:${config.REDIS_PORT}/${config.REDIS_DB}`;
}

/**
 * QUIT when Redis answers, so replies in flight arrive; a Redis that does not answer within
 * `graceMs` (gone, paused, a client that queues for ever) gets the connection dropped instead,
 * which also fails every command still waiting on it. Never waits longer than `graceMs`.
 */
export async function closeRedis(client: RedisClient, graceMs = 500): Promise<void> {
  if (client.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([client.quit().catch(() => undefined), grace]);
    clearTimeout(timer);
  }
  if (client.status !== 'end') client.disconnect();
}
