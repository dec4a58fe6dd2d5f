import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Connection } from 'mysql2/promise';
import { createApp } from '../../src/app.factory';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { PASSWORD, uniquePhone } from './builders';
import { Api } from './http';
import { noteTestWorld, recordAnswers } from './observed-answers';
import { leaseKey } from '../../src/cache/cache-keys';
import { sessionKeys } from '../../src/session/session.store';
import { claimRedisDb, ClaimedRedisDb } from './redis-db';
import { clusterOfThisWorker, TestRedis, testRedisClient } from './test-redis';
import { dropDatabase, sqlConnection, TEST_DB, uniqueDatabaseName } from './test-database';

export interface WorldOptions {
  /** A MySQL server of the test's own (e.g. startBinlogMariaDb()) instead of the machine's. */
  database?: typeof TEST_DB;
  /** A Redis of the test's own (e.g. startRedisServer()) instead of a claimed db of the machine's. */
  redis?: { host: string; port: number; db?: number };
  /** A Redis Cluster of the test's own (startRedisCluster().nodeList), e.g. to kill one of its masters. */
  redisCluster?: string;
}

/** One test file's private world: its own MySQL database and its own Redis database. */
export class TestWorld {
  readonly admin = { phone: uniquePhone(), password: PASSWORD };
  private readonly apps: NestFastifyApplication[] = [];
  private readonly closers: Array<() => Promise<unknown>> = [];
  /** The world's Redis: a db of the machine's Redis, or (HI_TEST_REDIS=cluster) this worker's Redis Cluster. */
  redis: TestRedis;
  sql: Connection;
  /** Key names as the service writes them in this world's mode (hash tags on a cluster). */
  readonly keys: { session(sid: string): string; revoked(sid: string): string; lease(key: string): string };

  private constructor(
    readonly dbName: string,
    readonly redisDb: ClaimedRedisDb,
    readonly dbServer: typeof TEST_DB = TEST_DB,
    /** REDIS_CLUSTER_NODES when the world runs on a Redis Cluster. */
    readonly clusterNodes?: string,
  ) {
    const cluster = clusterNodes !== undefined;
    const session = sessionKeys(cluster);
    this.keys = { session: session.session, revoked: session.revoked, lease: (key) => leaseKey(cluster, key) };
  }

  get onCluster(): boolean {
    return this.clusterNodes !== undefined;
  }

  /** What /admin/cache/health and `npm run cache -- test` report as the Redis of this world. */
  get redisTarget(): { host: string; port: number; db: number; clusterNodes?: string } {
    if (!this.clusterNodes) return { host: this.redisDb.host, port: this.redisDb.port, db: this.redisDb.db };
    const [host, port] = this.clusterNodes.split(',')[0].split(':');
    return { host, port: Number(port), db: 0, clusterNodes: this.clusterNodes };
  }

  /** How messages name this world's Redis: `host:port db N`, or `cluster <nodes>`. */
  get redisDescription(): string {
    const target = this.redisTarget;
    return target.clusterNodes ? `cluster ${target.clusterNodes}` : `${target.host}:${target.port} db ${target.db}`;
  }

  /** Environment overrides that point a process at a Redis that does not answer (nothing listens on `port`). */
  unreachableRedis(port: number | string): Record<string, string> {
    return this.clusterNodes ? { REDIS_CLUSTER_NODES: `127.0.0.1:${port}` } : { REDIS_PORT: String(port) };
  }

  static async create(options: WorldOptions = {}): Promise<TestWorld> {
    noteTestWorld();
    const server = options.database && {
      host: options.database.host,
      port: options.database.port,
      user: options.database.user,
      password: options.database.password,
    };
    const cluster = options.redisCluster ?? (options.redis ? undefined : clusterOfThisWorker());
    if (cluster) {
      const world = new TestWorld(uniqueDatabaseName(), { host: '', port: 0, db: 0, release: async () => undefined }, server, cluster);
      world.redis = await testRedisClient({ cluster });
      await world.redis.flushAllMasters();
      return world;
    }
    const redisDb = options.redis
      ? { host: options.redis.host, port: options.redis.port, db: options.redis.db ?? 0, release: async () => undefined }
      : await claimRedisDb();
    const world = new TestWorld(uniqueDatabaseName(), redisDb, server);
    world.redis = await testRedisClient({ host: redisDb.host, port: redisDb.port, db: redisDb.db });
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
      ...(this.clusterNodes
        ? { REDIS_CLUSTER_NODES: this.clusterNodes }
        : { REDIS_HOST: this.redisDb.host, REDIS_PORT: String(this.redisDb.port), REDIS_DB: String(this.redisDb.db) }),
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
    await recordAnswers(app);
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
    await dropDatabase(this.dbName, this.dbServer);
    if (this.onCluster) await this.redis.flushAllMasters().catch(() => undefined);
    await this.redis.quit().catch(() => undefined);
    await this.redisDb.release();
  }
}
