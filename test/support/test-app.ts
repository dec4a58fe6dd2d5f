import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import Redis from 'ioredis';
import type { Connection } from 'mysql2/promise';
import { createApp } from '../../src/app.factory';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { PASSWORD, uniquePhone } from './builders';
import { Api } from './http';
import { claimRedisDb, ClaimedRedisDb } from './redis-db';
import { dropDatabase, sqlConnection, TEST_DB, uniqueDatabaseName } from './test-database';

export interface WorldOptions {
  /** A MySQL server of the test's own (e.g. startBinlogMariaDb()) instead of the machine's. */
  database?: typeof TEST_DB;
  /** A Redis of the test's own (e.g. startRedisServer()) instead of a claimed db of the machine's. */
  redis?: { host: string; port: number; db?: number };
}

/** One test file's private world: its own MySQL database and its own Redis database. */
export class TestWorld {
  readonly admin = { phone: uniquePhone(), password: PASSWORD };
  private readonly apps: NestFastifyApplication[] = [];
  private readonly closers: Array<() => Promise<unknown>> = [];
  redis: Redis;
  sql: Connection;

  private constructor(
    readonly dbName: string,
    readonly redisDb: ClaimedRedisDb,
    readonly dbServer: typeof TEST_DB = TEST_DB,
  ) {}

  static async create(options: WorldOptions = {}): Promise<TestWorld> {
    const redisDb = options.redis
      ? { host: options.redis.host, port: options.redis.port, db: options.redis.db ?? 0, release: async () => undefined }
      : await claimRedisDb();
    const server = options.database && { host: options.database.host, port: options.database.port, user: options.database.user, password: options.database.password };
    const world = new TestWorld(uniqueDatabaseName(), redisDb, server);
    world.redis = new Redis({ host: world.redisDb.host, port: world.redisDb.port, db: world.redisDb.db });
    return world;
  }

  /** The environment a server process of this world runs with (also for child processes). */
  env(overrides: Record<string, string> = {}): Record<string, string> {
    return {
      DB_HOST: this.dbServer.host,
      DB_PORT: String(this.dbServer.port),
      DB_USER: this.dbServer.user,
      DB_PASSWORD: this.dbServer.password,
      DB_NAME: this.dbName,
      REDIS_HOST: this.redisDb.host,
      REDIS_PORT: String(this.redisDb.port),
      REDIS_DB: String(this.redisDb.db),
      ADMIN_PHONE: this.admin.phone,
      ADMIN_PASSWORD: this.admin.password,
      AUTH_RATE_LIMIT_PER_MINUTE: '0',
      LOGIN_FAILURES_PER_PHONE: '0',
      LOGIN_FAILURES_PER_PHONE_ALL_ADDRESSES: '0',
      EMAIL_BIND_ATTEMPTS_PER_HOUR: '0',
      EMAIL_CODE_COOLDOWN_SECONDS: '0',
      LOG_LEVEL: 'silent',
      ...overrides,
    };
  }

  config(overrides: Record<string, string> = {}): AppConfig {
    return loadConfig(this.env(overrides));
  }

  /** Starts the real application on a free port of 127.0.0.1. */
  async start(overrides: Record<string, string> = {}): Promise<{ app: NestFastifyApplication; api: Api; url: string }> {
    const app = await createApp(this.config(overrides), { logger: false });
    await app.listen(0, '127.0.0.1');
    this.apps.push(app);
    this.sql ??= await sqlConnection(this.dbName, this.dbServer);
    const url = await app.getUrl();
    return { app, api: new Api(url.replace('[::1]', '127.0.0.1')), url };
  }

  onClose(closer: () => Promise<unknown>): void {
    this.closers.push(closer);
  }

  async close(): Promise<void> {
    for (const closer of this.closers.reverse()) await closer().catch(() => undefined);
    for (const app of this.apps) await app.close().catch(() => undefined);
    await this.sql?.end().catch(() => undefined);
    await this.redis.quit().catch(() => undefined);
    await dropDatabase(this.dbName, this.dbServer);
    await this.redisDb.release();
  }
}
