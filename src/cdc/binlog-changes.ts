import { CACHED_TABLES } from '../cache/cache-keys';

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
  // A comment names nothing, except an executable one (`/*! ... */`, `/*!40000 ... */`, MariaDB's
  // `/*M! ... */`), which the server runs: its text counts.
  const text = statement.replace(/\/\*(M?!\d*)?([\s\S]*?)\*\//g, (_, executable: string | undefined, body: string) => (executable ? ` ${body} ` : ' '));
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
