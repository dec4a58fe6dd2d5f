import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { RedisClient } from '../redis/redis-client';
import { DataSource, QueryRunner } from 'typeorm';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { CacheGate } from './cache-gate';
import { CacheInvalidator } from './cache-invalidator.service';

const RELAY_INTERVAL_MS = 1000;
const BATCH = 200;

/**
 * Durable invalidation. The keys a transaction makes stale are written to `cache_invalidations`
 * inside that transaction; after commit they are deleted from Redis and the outbox row removed.
 * If Redis cannot be reached, the row stays and a relay in every process retries it every second,
 * and at once when the connection to Redis comes back, until Redis answers, across restarts too.
 * Deleting a key twice is harmless, so relays may overlap. Until a drain finds the outbox empty,
 * the CacheGate keeps reads off the cache.
 */
@Injectable()
export class InvalidationOutbox implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(InvalidationOutbox.name);
  private timer?: NodeJS.Timeout;
  private draining?: Promise<number>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly invalidator: CacheInvalidator,
    private readonly gate: CacheGate,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.redis.on('close', () => this.gate.close('the connection to Redis was lost'));
    this.redis.on('ready', () => void this.drain().catch(() => undefined));
    this.timer = setInterval(() => void this.drain().catch(() => undefined), RELAY_INTERVAL_MS);
    this.timer.unref();
    // Invalidations left by a process that stopped while Redis was away are delivered before the
    // first request reads the cache.
    await this.drain().catch((err: Error) => this.logger.warn(`pending invalidations not delivered yet: ${err.message}`));
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async record(queryRunner: QueryRunner, keys: string[]): Promise<string> {
    const result = await queryRunner.query('INSERT INTO cache_invalidations (cache_keys) VALUES (?)', [JSON.stringify(keys)]);
    return String(result.insertId);
  }

  /**
   * Invalidates now; on failure leaves (or writes) the outbox row for the relay and answers false.
   * `runner` is the committed transaction's own connection: taking another one from the pool here
   * would deadlock the pool when every connection is a transaction waiting in its after-commit hook.
   */
  async relay(keys: string[], outboxId?: string, runner?: QueryRunner): Promise<boolean> {
    const query = (sql: string, params: unknown[]) => (runner && !runner.isReleased ? runner.query(sql, params) : this.dataSource.query(sql, params));
    try {
      await this.invalidator.invalidate(keys);
    } catch {
      if (outboxId === undefined) await this.recordAfterCommit(keys, query);
      return false;
    }
    if (outboxId !== undefined) {
      await query('DELETE FROM cache_invalidations WHERE id = ?', [outboxId]).catch((err: Error) => {
        this.logger.warn(`outbox row ${outboxId} stays for the relay: ${err.message}`);
      });
    }
    return true;
  }

  /** Retries every pending invalidation; returns how many rows it cleared. */
  drain(): Promise<number> {
    this.draining ??= this.drainOnce().finally(() => (this.draining = undefined));
    return this.draining;
  }

  async pendingCount(): Promise<number> {
    const [{ n }] = await this.dataSource.query('SELECT COUNT(*) AS n FROM cache_invalidations');
    return Number(n);
  }

  /**
   * Delivers every invalidation committed before it started. Rows of transactions committing
   * meanwhile are theirs to deliver: one that cannot closes the gate again, which keeps it closed.
   */
  private async drainOnce(): Promise<number> {
    const mark = this.gate.mark();
    const [{ last }] = await this.dataSource.query('SELECT MAX(id) AS last FROM cache_invalidations');
    let cleared = 0;
    for (;;) {
      const rows: Array<{ id: string; cache_keys: string }> =
        last === null ? [] : await this.dataSource.query('SELECT id, cache_keys FROM cache_invalidations WHERE id <= ? ORDER BY id LIMIT ?', [last, BATCH]);
      if (rows.length === 0) {
        if (this.redis.status === 'ready') this.gate.reopen(mark);
        return cleared;
      }
      await this.invalidator.invalidate(rows.flatMap((row) => JSON.parse(row.cache_keys) as string[]));
      await this.dataSource.query('DELETE FROM cache_invalidations WHERE id IN (?)', [rows.map((row) => row.id)]);
      cleared += rows.length;
    }
  }

  private async recordAfterCommit(keys: string[], query: (sql: string, params: unknown[]) => Promise<unknown>): Promise<void> {
    try {
      await query('INSERT INTO cache_invalidations (cache_keys) VALUES (?)', [JSON.stringify(keys)]);
    } catch (err) {
      this.logger.error(`invalidation of ${keys.join(', ')} lost: neither Redis nor MySQL answered: ${(err as Error).message}`);
    }
  }
}
