import type { DataSource } from 'typeorm';
import { familyOfTable, keysOfRow } from '../cache/cache-keys';
import { DeviceImage, endingsOfDeviceChange, endingsOfUserChange, SessionEnding, UserImage } from '../session/session-ending.policy';
import { cachedTablesNamedBy } from './binlog-changes';
import { BinlogPosition } from './binlog-position';
import { Probe } from './binlog-server';
import type { BinlogEvent, QueryEvent, RowsEvent } from './zongji.loader';

type Row = Record<string, unknown>;

/** A binlog row (keyed by column) as its entity sees it (keyed by property). */
export type RowImages = (table: string, row: Row) => Row;

/** Column -> property maps from the entities' own TypeORM metadata. */
export function rowImagesOf(dataSource: DataSource): RowImages {
  const maps = new Map<string, Map<string, string>>();
  return (table, row) => {
    let columns = maps.get(table);
    if (!columns) {
      const metadata = dataSource.hasMetadata(table) ? dataSource.getMetadata(table) : null;
      columns = new Map(metadata?.columns.map((c) => [c.databaseName, c.propertyName]) ?? []);
      maps.set(table, columns);
    }
    return Object.fromEntries(Object.entries(row).map(([column, value]) => [columns.get(column) ?? column, value]));
  };
}

/** One committed transaction of the cached tables, as change capture applies it. */
export interface CapturedTransaction {
  /** Where the stream resumes after this transaction. */
  position: BinlogPosition;
  /** Commit time on the server's clock (ms). */
  committedAt: number;
  /** Every cache key of every row version it wrote, before and after images both. */
  keys: string[];
  /** Tables whose keys all go: a TRUNCATE, DROP, RENAME or ALTER, DML logged as a statement, or a transaction too big to keep its keys. */
  tables: string[];
  endings: SessionEnding[];
  /** It rewrote a whole table whose rows sessions stand on: every session must be held against MySQL. */
  everySession: boolean;
  /** A row it wrote: once that row's new version is visible, the whole transaction is. */
  probe: Probe | null;
  /** It touched a cached table (only those are checkpointed). */
  relevant: boolean;
}

export type CapturedChange =
  /** Keys to invalidate at once, as the rows arrive; the commit invalidates them again once visible. */
  { kind: 'keys'; keys: string[] } | { kind: 'commit'; transaction: CapturedTransaction };

const MAX_KEYS_PER_TRANSACTION = 100_000;

/**
 * Turns binlog events into transactions of the cached tables: the cache keys of every row version,
 * the sessions the changes end (session-ending.policy.ts), a probe row, and the commit position.
 * Pure bookkeeping, fed one event at a time; the stream is read in order, one transaction at a time.
 */
export class TransactionAssembler {
  private keys: string[] = [];
  private tables = new Set<string>();
  private endings: SessionEnding[] = [];
  private probe: Probe | null = null;
  private oversized = false;
  private everySession = false;

  constructor(
    private readonly dbName: string,
    private readonly images: RowImages,
    private readonly maxKeys = MAX_KEYS_PER_TRANSACTION,
  ) {}

  /** A new stream starts between transactions: whatever was half read is read again. */
  reset(): void {
    this.keys = [];
    this.tables = new Set();
    this.endings = [];
    this.everySession = false;
    this.probe = null;
    this.oversized = false;
  }

  accept(event: BinlogEvent, position: BinlogPosition): CapturedChange[] {
    switch (event.getEventName()) {
      case 'writerows':
      case 'updaterows':
      case 'deleterows':
        return this.rows(event as RowsEvent & { rows: Array<Row | { before: Row; after: Row }> }, event.getEventName() === 'deleterows');
      case 'xid':
        return [this.commit(position, event.timestamp)];
      case 'query': {
        const { query, schema } = event as QueryEvent;
        if (/^\s*BEGIN\b/i.test(query)) return [];
        for (const table of cachedTablesNamedBy(query, schema, this.dbName)) {
          this.tables.add(table);
          if (SESSION_TABLES.has(table)) this.everySession = true;
        }
        return [this.commit(position, event.timestamp)];
      }
      default:
        return [];
    }
  }

  private rows(event: RowsEvent & { rows: Array<Row | { before: Row; after: Row }> }, deleted: boolean): CapturedChange[] {
    const table = event.tableMap[event.tableId];
    const family = table && table.parentSchema === this.dbName ? familyOfTable(table.tableName) : undefined;
    if (!family) return [];
    const name = table.tableName;
    const keys: string[] = [];
    for (const row of event.rows) {
      const [before, after] = isChange(row)
        ? [this.images(name, row.before), this.images(name, row.after)]
        : deleted
          ? [this.images(name, row), null]
          : [null, this.images(name, row)];
      for (const image of [before, after]) if (image) keys.push(...keysOfRow(family, image));
      this.endings.push(...endingsOf(name, before, after));
      this.probe ??= { table: name, id: Number((after ?? before)!.id) };
    }
    if (this.oversized) return [{ kind: 'keys', keys }];
    this.keys.push(...keys);
    if (this.keys.length > this.maxKeys) {
      // Too many to hold until the commit: once it is visible, the whole table's keys go instead.
      this.oversized = true;
      this.keys = [];
      this.tables.add(name);
    }
    return [{ kind: 'keys', keys }];
  }

  private commit(position: BinlogPosition, committedAt: number): CapturedChange {
    const relevant = this.probe !== null || this.tables.size > 0;
    const transaction: CapturedTransaction = {
      position,
      committedAt,
      keys: this.keys,
      tables: [...this.tables],
      endings: this.endings,
      everySession: this.everySession,
      probe: this.probe,
      relevant,
    };
    this.reset();
    return { kind: 'commit', transaction };
  }
}

function isChange(row: Row | { before: Row; after: Row }): row is { before: Row; after: Row } {
  return 'before' in row && 'after' in row && typeof row.before === 'object' && row.before !== null && typeof row.after === 'object' && row.after !== null;
}

/** The tables whose rows sessions stand on (endingsOf reads their row changes). */
const SESSION_TABLES = new Set(['app_users', 'devices']);

function endingsOf(table: string, before: Row | null, after: Row | null): SessionEnding[] {
  if (table === 'app_users') return endingsOfUserChange(before as UserImage | null, after as UserImage | null);
  if (table === 'devices') return endingsOfDeviceChange(before as DeviceImage | null, after as DeviceImage | null);
  return [];
}
