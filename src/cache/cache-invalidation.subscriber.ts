import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  DataSource,
  EntityManager,
  EntitySubscriberInterface,
  EntityTarget,
  InsertEvent,
  ObjectLiteral,
  QueryRunner,
  RemoveEvent,
  TransactionCommitEvent,
  TransactionRollbackEvent,
  UpdateEvent,
} from 'typeorm';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { familyOfTable, keysOfRow } from './cache-keys';
import { InvalidationOutbox } from './invalidation-outbox.service';

interface Pending {
  keys: Set<string>;
  outboxId?: string;
}

/**
 * The safety net under every write of a cached entity made through TypeORM: it collects the keys
 * of the old and the new version of each row while the transaction runs, records them in the
 * outbox inside the same transaction, and invalidates them only AFTER COMMIT. Invalidating before
 * commit (as go-zero does) lets a reader re-cache the row the uncommitted transaction is changing.
 */
@Injectable()
export class CacheInvalidationSubscriber implements EntitySubscriberInterface {
  private readonly logger = new Logger(CacheInvalidationSubscriber.name);
  private readonly pending = new WeakMap<QueryRunner, Pending>();

  constructor(
    @InjectDataSource() dataSource: DataSource,
    private readonly outbox: InvalidationOutbox,
  ) {
    dataSource.subscribers.push(this);
  }

  afterInsert(event: InsertEvent<Record<string, unknown>>): Promise<void> {
    return this.collect(event.queryRunner, event.metadata.tableName, [event.entity]);
  }

  afterUpdate(event: UpdateEvent<Record<string, unknown>>): Promise<void> {
    const table = event.metadata.tableName;
    if (!event.entity && !event.databaseEntity && familyOfTable(table)) {
      this.logger.error(`an update of ${table} reached no row: use the repository's intent-named methods, which invalidate`);
    }
    return this.collect(event.queryRunner, table, [event.databaseEntity, { ...event.databaseEntity, ...event.entity }]);
  }

  afterRemove(event: RemoveEvent<Record<string, unknown>>): Promise<void> {
    const row = event.databaseEntity ?? { ...event.entity, id: event.entityId };
    return this.collect(event.queryRunner, event.metadata.tableName, [row]);
  }

  async beforeTransactionCommit(event: TransactionCommitEvent): Promise<void> {
    if (depth(event.queryRunner) !== 1) return;
    const pending = this.pending.get(event.queryRunner);
    if (pending) pending.outboxId = await this.outbox.record(event.queryRunner, [...pending.keys]);
  }

  async afterTransactionCommit(event: TransactionCommitEvent): Promise<void> {
    if (event.queryRunner.isTransactionActive) return;
    const pending = this.pending.get(event.queryRunner);
    if (!pending) return;
    this.pending.delete(event.queryRunner);
    if (!(await this.outbox.relay([...pending.keys], pending.outboxId, event.queryRunner))) throw undelivered();
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    if (!event.queryRunner.isTransactionActive) this.pending.delete(event.queryRunner);
  }

  /**
   * A repository's write of these rows: their keys are invalidated after commit even when TypeORM
   * found nothing to change and so raised no event (go-zero's ExecCtx always deletes, too). A row
   * already set to the value it is saved with may still be cached with an older one.
   */
  async written(manager: EntityManager, target: EntityTarget<ObjectLiteral>, rows: object[]): Promise<void> {
    await this.collect(manager.queryRunner, manager.connection.getMetadata(target).tableName, rows);
  }

  /** Also used by repository methods whose writes TypeORM reports without rows. */
  async collect(queryRunner: QueryRunner | undefined, table: string, rows: Array<object | null | undefined>): Promise<void> {
    const family = familyOfTable(table);
    if (!family) return;
    const keys = rows.flatMap((row) => (row ? keysOfRow(family, row as Record<string, unknown>) : []));
    if (keys.length === 0) return;
    if (queryRunner?.isTransactionActive) {
      let pending = this.pending.get(queryRunner);
      if (!pending) this.pending.set(queryRunner, (pending = { keys: new Set() }));
      keys.forEach((key) => pending.keys.add(key));
      return;
    }
    // An autocommitted write: it is committed already.
    if (!(await this.outbox.relay(keys, undefined, queryRunner))) throw undelivered();
  }
}

/**
 * A write is acknowledged only once the cache no longer holds what it replaced: one whose
 * invalidation could not reach Redis is saved (the outbox delivers it later) but answers 503, so
 * a client that sees success never reads the old value back.
 */
function undelivered(): AppError {
  return new AppError(ErrorCode.UNAVAILABLE, 'saved, but Redis is unavailable: the cache catches up once it answers');
}

function depth(queryRunner: QueryRunner): number {
  return (queryRunner as unknown as { transactionDepth: number }).transactionDepth;
}
