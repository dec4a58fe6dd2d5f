import { KEYS_BY_TABLE } from '../cache/cache-keys';
import { UserStatus } from '../common/user-status';
import { DeviceImage, endingsOfDeviceChange, endingsOfUserChange, SessionEnding, UserImage } from '../session/session-ending.policy';

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

/**
 * The sessions a row change ends, whoever made it (session-ending.policy.ts), from the binlog's
 * before and after images. Changes made through the service have ended their sessions already;
 * doing it again finds nothing left, so hand-written SQL is covered too.
 */
export function sessionEndingsOfRows(table: string, rows: Array<Row | { before: Row; after: Row }>, deleted: boolean): SessionEnding[] {
  const image = table === 'app_users' ? userImage : table === 'devices' ? deviceImage : null;
  if (!image) return [];
  const endingsOf = (table === 'app_users' ? endingsOfUserChange : endingsOfDeviceChange) as (b: unknown, a: unknown) => SessionEnding[];
  return rows.flatMap((row) => {
    if ('before' in row && 'after' in row && isRow(row.before) && isRow(row.after)) return endingsOf(image(row.before), image(row.after));
    return deleted ? endingsOf(image(row as Row), null) : endingsOf(null, image(row as Row));
  });
}

const userImage = (row: Row): UserImage => ({ id: Number(row.id), status: Number(row.status) as UserStatus });
const deviceImage = (row: Row): DeviceImage => ({ identifier: String(row.identifier), userId: Number(row.user_id) });
