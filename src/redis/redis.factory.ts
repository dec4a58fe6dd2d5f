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
