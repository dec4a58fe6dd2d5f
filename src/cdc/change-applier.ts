import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { CacheInvalidator } from '../cache/cache-invalidator.service';
import { CacheKeys, SCOPE_BY_TABLE } from '../cache/cache-keys';
import { scanUnlink } from '../cache/keyspace';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { SessionEnding } from '../session/session-ending.policy';
import { BinlogPosition } from './binlog-position';
import { SessionEnder } from './session-ender';
import { CdcStatus } from './cdc-status';
import { CheckpointStore } from './checkpoint.store';

export type Change =
  | { kind: 'keys'; keys: string[] }
  | { kind: 'sessions'; endings: SessionEnding[] }
  | { kind: 'tables'; tables: string[] }
  /** A transaction boundary; `relevant` when it touched a cached table. */
  | { kind: 'commit'; position: BinlogPosition; committedAt: number; relevant: boolean };

const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 2000;
const MERGE_LIMIT = 20_000;

class Stopped extends Error {}

/**
 * Applies the changes read from the binlog in order: invalidates each row's keys (or a whole
 * table's, for DDL) as soon as it arrives, and at each commit records the position as applied.
 * A failed invalidation is retried with backoff until Redis answers; nothing after it is applied
 * meanwhile, so the checkpoint never passes a change whose keys may still be in the cache.
 * Checkpoints are written one at a time, latest first, so a burst of commits costs one write.
 */
@Injectable()
export class ChangeApplier {
  private readonly logger = new Logger('ChangeCapture');
  private queue: Change[] = [];
  private working?: Promise<void>;
  private stopped = false;
  private wanted: BinlogPosition | null = null;
  private persisting?: Promise<void>;
  private wake?: () => void;

  constructor(
    private readonly invalidator: CacheInvalidator,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly checkpoints: CheckpointStore,
    private readonly status: CdcStatus,
    private readonly sessions: SessionEnder,
  ) {}

  /** Called each time an invalidation fails and waits for Redis: reading more binlog would only queue it in memory. */
  onStall?: () => void;

  get backlog(): number {
    return this.queue.length;
  }

  start(): void {
    this.stopped = false;
    this.queue = [];
  }

  push(change: Change): void {
    if (this.stopped) return;
    this.queue.push(change);
    this.kick();
  }

  private kick(): void {
    if (this.working || this.stopped || this.queue.length === 0) return;
    // Several events can arrive in one tick: a change pushed after the worker emptied the queue but
    // before its promise settled is picked up here.
    this.working = this.work().finally(() => {
      this.working = undefined;
      this.kick();
    });
  }

  /** Resolves once every queued change is applied (for tests and an orderly stop). */
  async idle(): Promise<void> {
    while (this.working) await this.working;
    while (this.persisting) await this.persisting;
  }

  /** Stops applying; with `flush`, the last applied position is written as the checkpoint first. */
  async stop(flush: boolean): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.working?.catch(() => undefined);
    if (flush && this.status.applied) this.persist(this.status.applied);
    await this.persisting;
  }

  private async work(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.stopped) {
        const change = this.queue.shift()!;
        if (change.kind === 'keys') await this.invalidate(this.mergeKeys(change.keys));
        else if (change.kind === 'tables') await this.clearTables(change.tables);
        else if (change.kind === 'sessions') await this.retry('ending sessions', () => this.sessions.end(change.endings));
        else this.commit(change);
      }
    } catch (err) {
      if (!(err instanceof Stopped)) throw err;
    }
  }

  /** Consecutive row changes are invalidated together: a 10,000-row DELETE costs a few round trips. */
  private mergeKeys(first: string[]): string[] {
    const keys = [...first];
    while (this.queue[0]?.kind === 'keys' && keys.length < MERGE_LIMIT) keys.push(...(this.queue.shift() as { keys: string[] }).keys);
    return keys;
  }

  private async invalidate(keys: string[]): Promise<void> {
    await this.retry(`invalidation of ${keys.length} key(s)`, () => this.invalidator.invalidate(keys));
    this.status.invalidatedKeys += keys.length;
  }

  private async clearTables(tables: string[]): Promise<void> {
    for (const table of tables) {
      const scope = SCOPE_BY_TABLE[table];
      const pattern = CacheKeys.scopePattern(scope);
      const removed = await this.retry(`clearing ${pattern}`, async () => {
        const rows = await scanUnlink(this.redis, pattern);
        await scanUnlink(this.redis, CacheKeys.lease(pattern));
        return rows.deleted;
      });
      this.logger.log(`${table} was truncated, dropped, renamed or altered: cleared ${removed} key(s) of ${scope}`);
    }
  }

  private commit(change: Extract<Change, { kind: 'commit' }>): void {
    this.status.applied = change.position;
    this.status.appliedCommitAt = change.committedAt;
    if (change.relevant) this.persist(change.position);
  }

  private persist(position: BinlogPosition): void {
    this.wanted = position;
    this.persisting ??= this.persistLoop().finally(() => {
      this.persisting = undefined;
      if (this.wanted && !this.stopped) this.persist(this.wanted);
    });
  }

  private async persistLoop(): Promise<void> {
    while (this.wanted) {
      const position = this.wanted;
      this.wanted = null;
      try {
        await this.checkpoints.save(position);
        this.status.checkpoint = position;
      } catch (err) {
        this.logger.warn(`checkpoint not saved, retrying: ${(err as Error).message}`);
        if (this.stopped) return;
        this.wanted ??= position;
        await new Promise((resolve) => setTimeout(resolve, 1000).unref());
      }
    }
  }

  private async retry<T>(what: string, work: () => Promise<T>): Promise<T> {
    for (let delay = RETRY_FIRST_MS; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
      try {
        const result = await work();
        if (this.status.lastError?.startsWith('redis')) this.status.lastError = null;
        return result;
      } catch (err) {
        this.onStall?.();
        this.status.lastError = `redis: ${what} failed: ${(err as Error).message}`;
        if (delay === RETRY_FIRST_MS) this.logger.warn(`${this.status.lastError}; retrying until Redis answers`);
        if (this.stopped) throw new Stopped();
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, delay).unref();
        });
        if (this.stopped) throw new Stopped();
      }
    }
  }
}
