import { Inject, Injectable, Logger } from '@nestjs/common';
import { isCluster, RedisClient } from '../redis/redis-client';
import { CacheInvalidator } from '../cache/cache-invalidator.service';
import { CacheScope, familyOfTable, leasePattern, scopePattern } from '../cache/cache-keys';
import { scanUnlink } from '../cache/keyspace';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { BinlogPosition } from './binlog-position';
import { BinlogServer } from './binlog-server';
import { CdcStatus } from './cdc-status';
import { CheckpointStore } from './checkpoint.store';
import { SessionEnder } from './session-ender';
import { CapturedChange, CapturedTransaction } from './transaction-assembler';

const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 2000;
const MERGE_LIMIT = 20_000;

class Stopped extends Error {}

export interface ApplyHooks {
  /** An invalidation (or a query it needs) failed and is being retried: reading more binlog would only queue it in memory. */
  stalled(): void;
}

/**
 * Applies captured changes in order. Row keys are invalidated as they arrive; at a commit, once
 * the transaction is visible to readers (a reader in between could have cached the old row), its
 * keys are invalidated again, its tables cleared, the sessions it ended ended, and its position
 * becomes the resume position. A failure is retried with backoff until it succeeds; nothing after
 * it is applied meanwhile, so the checkpoint never passes a change whose keys may still be cached.
 * Everything queued is applied together: a 10,000-row DELETE costs a few round trips.
 */
@Injectable()
export class ChangeApplier {
  private readonly logger = new Logger('ChangeCapture');
  private queue: CapturedChange[] = [];
  private working?: Promise<void>;
  private stopped = true;
  private hooks: ApplyHooks = { stalled: () => undefined };
  private position: BinlogPosition | null = null;
  private wanted: BinlogPosition | null = null;
  private persisting?: Promise<void>;
  private wake?: () => void;

  constructor(
    private readonly invalidator: CacheInvalidator,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly checkpoints: CheckpointStore,
    private readonly server: BinlogServer,
    private readonly sessions: SessionEnder,
    private readonly status: CdcStatus,
  ) {}

  /** Every transaction up to here has been applied: where a stream resumes. */
  get applied(): BinlogPosition | null {
    return this.position;
  }

  get backlog(): number {
    return this.queue.length;
  }

  /** Nothing received is waiting to be applied. */
  get caughtUp(): boolean {
    return this.queue.length === 0 && !this.working;
  }

  /** Starts applying what follows `from` (already applied). */
  start(from: BinlogPosition, hooks: ApplyHooks): void {
    this.stopped = false;
    this.queue = [];
    this.hooks = hooks;
    this.setApplied(from, this.status.appliedCommitAt);
  }

  push(changes: CapturedChange[]): void {
    if (this.stopped || changes.length === 0) return;
    this.queue.push(...changes);
    this.kick();
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
    if (flush && this.position) this.persist(this.position);
    await this.persisting;
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

  private async work(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.stopped) {
        const { keys, transactions } = this.take();
        if (keys.length > 0) await this.invalidate(keys);
        if (transactions.length > 0) await this.commit(transactions);
      }
    } catch (err) {
      if (!(err instanceof Stopped)) throw err;
    }
  }

  /** The queued row keys and transactions, up to about MERGE_LIMIT keys; invalidation order does not matter. */
  private take(): { keys: string[]; transactions: CapturedTransaction[] } {
    const keys: string[] = [];
    const transactions: CapturedTransaction[] = [];
    let size = 0;
    while (this.queue.length > 0 && size < MERGE_LIMIT) {
      const change = this.queue.shift()!;
      if (change.kind === 'keys') {
        keys.push(...change.keys);
        size += change.keys.length;
      } else {
        transactions.push(change.transaction);
        size += change.transaction.keys.length;
      }
    }
    return { keys, transactions };
  }

  private async commit(transactions: CapturedTransaction[]): Promise<void> {
    // The server makes transactions visible in binlog order: the last one visible means all are.
    const probe = [...transactions].reverse().find((t) => t.probe)?.probe;
    if (probe) await this.retry('mysql', 'waiting for the transaction to be visible', () => this.server.waitVisible(probe));
    const keys = transactions.flatMap((t) => t.keys);
    if (keys.length > 0) await this.invalidate(keys);
    for (const table of new Set(transactions.flatMap((t) => t.tables))) await this.clearTable(table);
    const endings = transactions.flatMap((t) => t.endings);
    if (endings.length > 0) await this.retry('redis', 'ending sessions', () => this.sessions.end(endings));
    if (transactions.some((t) => t.everySession)) {
      const ended = await this.retry('redis', 'holding every session against MySQL', () => this.sessions.endEveryInvalid());
      this.logger.log(`a whole table of users or devices was rewritten: held every session against MySQL, ${ended} ended`);
    }
    const last = transactions[transactions.length - 1];
    this.setApplied(last.position, last.committedAt);
    if (transactions.some((t) => t.relevant)) this.persist(last.position);
  }

  private async invalidate(keys: string[]): Promise<void> {
    await this.retry('redis', `invalidation of ${keys.length} key(s)`, () => this.invalidator.invalidate(keys));
    this.status.invalidatedKeys += keys.length;
  }

  private async clearTable(table: string): Promise<void> {
    const pattern = scopePattern(familyOfTable(table)!.scope as CacheScope);
    const removed = await this.retry('redis', `clearing ${pattern}`, async () => {
      const rows = await scanUnlink(this.redis, pattern);
      await scanUnlink(this.redis, leasePattern(isCluster(this.redis), pattern));
      return rows.deleted;
    });
    this.logger.log(`${table} was truncated, dropped, renamed, altered or changed in bulk: cleared ${removed} key(s)`);
  }

  private setApplied(position: BinlogPosition, committedAt: number | null): void {
    this.position = position;
    this.status.applied = position;
    this.status.appliedCommitAt = committedAt;
  }

  private persist(position: BinlogPosition): void {
    this.wanted = position;
    this.persisting ??= this.persistLoop().finally(() => {
      this.persisting = undefined;
      if (this.wanted && !this.stopped) this.persist(this.wanted);
    });
  }

  /** Checkpoints are written one at a time, latest first: a burst of commits costs one write. */
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

  /** `on`: the dependency `work` waits for, named in the error /health shows. */
  private async retry<T>(on: 'redis' | 'mysql', what: string, work: () => Promise<T>): Promise<T> {
    for (let delay = RETRY_FIRST_MS; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
      try {
        const result = await work();
        if (this.status.lastError?.startsWith(on)) this.status.lastError = null;
        return result;
      } catch (err) {
        this.hooks.stalled();
        this.status.lastError = `${on}: ${what} failed: ${(err as Error).message}`;
        if (delay === RETRY_FIRST_MS) this.logger.warn(`${this.status.lastError}; retrying until it succeeds`);
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
