import { KEYS_BY_TABLE } from '../cache/cache-keys';

export const CACHED_TABLES = Object.keys(KEYS_BY_TABLE);

type Row = Record<string, unknown>;

/** Every cache key of every row version a rows event carries: before and after images both. */
export function keysOfRows(table: string, rows: Array<Row | { before: Row; after: Row }>): string[] {
  const keysOf = KEYS_BY_TABLE[table];
  if (!keysOf) return [];
  const keys: string[] = [];
  for (const row of rows) {
    if ('before' in row && 'after' in row && isRow(row.before) && isRow(row.after)) {
      keys.push(...keysOf(row.before), ...keysOf(row.after));
    } else {
      keys.push(...keysOf(row as Row));
    }
  }
  return keys;
}

function isRow(value: unknown): value is Row {
  return typeof value === 'object' && value !== null;
}

const NOT_A_CHANGE = /^\s*(BEGIN|COMMIT|ROLLBACK|XA\s|SAVEPOINT|RELEASE\s+SAVEPOINT)\b/i;
const IDENTIFIER = /(?:`((?:[^`]|``)+)`|([A-Za-z0-9_$]+))(?:\s*\.\s*(?:`((?:[^`]|``)+)`|([A-Za-z0-9_$]+)))?/g;

/**
 * The cached tables of `dbName` that a statement logged as text names: TRUNCATE, DROP, RENAME and
 * ALTER TABLE, and any DML the server logged as a statement rather than as rows (binlog_format
 * MIXED). Their rows cannot be known, so the caller clears the whole table's keys. Naming a
 * cached table in any other role (a column called `devices`) only costs an unneeded clear.
 */
export function cachedTablesNamedBy(statement: string, defaultSchema: string | undefined, dbName: string): string[] {
  if (NOT_A_CHANGE.test(statement)) return [];
  const named = new Set<string>();
  const text = statement.replace(/\/\*[\s\S]*?\*\//g, ' ');
  for (const match of text.matchAll(IDENTIFIER)) {
    const first = unquote(match[1] ?? match[2]);
    const second = match[3] ?? match[4];
    const [schema, table] = second === undefined ? [defaultSchema, first] : [first, unquote(second)];
    if (schema === dbName && CACHED_TABLES.includes(table)) named.add(table);
  }
  return [...named];
}

function unquote(identifier: string): string {
  return identifier.replace(/``/g, '`');
}

export type SessionEnding =
  | { kind: 'user'; userId: number; reason: 'disabled' | 'deleted' }
  | { kind: 'device'; userId: number; identifier: string; reason: 'unbound' | 'migrated' };

/**
 * The sessions a row change ends, whoever made it: a user deleted or disabled, a device deleted
 * (unbound) or moved to another user (migrated). Changes made through the service have ended
 * their sessions already; doing it again finds nothing left, so hand-written SQL is covered too.
 */
export function sessionEndingsOfRows(table: string, rows: Array<Row | { before: Row; after: Row }>, deleted: boolean): SessionEnding[] {
  const endings: SessionEnding[] = [];
  for (const row of rows) {
    const change = 'before' in row && 'after' in row && isRow(row.before) && isRow(row.after) ? (row as { before: Row; after: Row }) : null;
    if (table === 'app_users') {
      if (deleted) endings.push({ kind: 'user', userId: Number((row as Row).id), reason: 'deleted' });
      else if (change && Number(change.before.status) === 1 && Number(change.after.status) === 2) {
        endings.push({ kind: 'user', userId: Number(change.after.id), reason: 'disabled' });
      }
    } else if (table === 'devices') {
      if (deleted) {
        const device = row as Row;
        endings.push({ kind: 'device', userId: Number(device.user_id), identifier: String(device.identifier), reason: 'unbound' });
      } else if (change && Number(change.before.user_id) !== Number(change.after.user_id)) {
        endings.push({ kind: 'device', userId: Number(change.before.user_id), identifier: String(change.before.identifier), reason: 'migrated' });
      }
    }
  }
  return endings;
}
