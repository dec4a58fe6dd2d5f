import Redis, { RedisOptions } from 'ioredis';

export interface RedisConnection {
  REDIS_HOST: string;
  REDIS_PORT: number;
  REDIS_DB: number;
  REDIS_PASSWORD?: string;
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
  };
}

export async function connectRedis(config: RedisConnection, name = 'hi-server'): Promise<Redis> {
  const client = new Redis({ ...redisOptions(config), connectionName: name });
  client.on('error', () => undefined); // reported through failed commands and /health
  await client.connect();
  return client;
}

/**
 * QUIT when Redis answers, so replies in flight arrive; a Redis that does not answer within
 * `graceMs` (gone, paused, a client that queues for ever) gets the connection dropped instead,
 * which also fails every command still waiting on it. Never waits longer than `graceMs`.
 */
export async function closeRedis(client: Redis, graceMs = 500): Promise<void> {
  if (client.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([client.quit().catch(() => undefined), grace]);
    clearTimeout(timer);
  }
  if (client.status !== 'end') client.disconnect();
}
