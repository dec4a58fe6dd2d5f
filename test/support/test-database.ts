import { createConnection } from 'mysql2/promise';
import { randomBytes } from 'crypto';

export const TEST_DB = {
  host: process.env.TEST_DB_HOST ?? '127.0.0.1',
  port: Number(process.env.TEST_DB_PORT ?? 3306),
  user: process.env.TEST_DB_USER ?? 'root',
  password: process.env.TEST_DB_PASSWORD ?? '',
};

/** A database name of its own for each test file; the app creates it and runs the migrations. */
export function uniqueDatabaseName(prefix = 'hi_t'): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export async function dropDatabase(name: string, server: Partial<typeof TEST_DB> = {}): Promise<void> {
  const conn = await createConnection({ ...TEST_DB, ...server });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
  } finally {
    await conn.end();
  }
}

/** A plain connection to a test database, for the hand-written SQL an operator would run. */
export function sqlConnection(database: string, server: Partial<typeof TEST_DB> = {}) {
  return createConnection({ ...TEST_DB, ...server, database, multipleStatements: true });
}
