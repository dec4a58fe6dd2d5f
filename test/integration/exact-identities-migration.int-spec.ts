import { DataSource } from 'typeorm';
import { InitialSchema1763700000000 } from '../../src/database/migrations/1763700000000-initial-schema';
import { CdcCheckpoints1763800000000 } from '../../src/database/migrations/1763800000000-cdc-checkpoints';
import { ExactIdentities1764000000000 } from '../../src/database/migrations/1764000000000-exact-identities';
import { dropDatabase, sqlConnection, TEST_DB, uniqueDatabaseName } from '../support/test-database';

/** The ExactIdentities migration on data written under the old accent- and case-insensitive collation. */
describe('migration ExactIdentities', () => {
  const names: string[] = [];

  afterAll(async () => {
    for (const name of names) await dropDatabase(name);
  });

  /** A database at the schema before the migration, holding `seed`'s rows. */
  async function oldDatabase(...seed: string[]): Promise<{ name: string; migrate: () => Promise<void> }> {
    const name = uniqueDatabaseName('hi_mig');
    names.push(name);
    const sql = await sqlConnection('mysql');
    await sql.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await sql.end();
    const source = (migrations: Array<new () => object>) =>
      new DataSource({ type: 'mysql', ...TEST_DB, username: TEST_DB.user, database: name, migrations, migrationsTableName: 'migrations' });
    const old = await source([InitialSchema1763700000000, CdcCheckpoints1763800000000]).initialize();
    try {
      await old.runMigrations();
      for (const statement of seed) await old.query(statement);
    } finally {
      await old.destroy();
    }
    return {
      name,
      migrate: async () => {
        const all = await source([InitialSchema1763700000000, CdcCheckpoints1763800000000, ExactIdentities1764000000000]).initialize();
        try {
          await all.runMigrations({ transaction: 'each' });
        } finally {
          await all.destroy();
        }
      },
    };
  }

  async function query<T>(database: string, text: string, params: unknown[] = []): Promise<T[]> {
    const sql = await sqlConnection(database);
    try {
      const [rows] = await sql.query(text, params);
      return rows as T[];
    } finally {
      await sql.end();
    }
  }

  it('rewrites emails to their canonical form, makes identifiers exact, and queues the stale cache keys', async () => {
    const db = await oldDatabase(
      `INSERT INTO app_users (id, phone, email, refer_code) VALUES
        (1, '100001', ' Victim@Example.COM', 'AAAA1111'), (2, '100002', 'zoë@exämple.com', 'AAAA2222'), (3, '100003', 'ok@example.com', 'AAAA3333')`,
      "INSERT INTO devices (identifier, user_id) VALUES ('Phone-ABC-1', 1)",
    );
    // Under the old collation the case variant is the same device: that is what the migration ends.
    expect(await query(db.name, 'SELECT identifier FROM devices WHERE identifier = ?', ['phone-abc-1'])).toHaveLength(1);

    await db.migrate();

    expect(await query(db.name, 'SELECT id, email FROM app_users ORDER BY id')).toEqual([
      { id: 1, email: 'victim@example.com' },
      { id: 2, email: 'zoë@xn--exmple-cua.com' },
      { id: 3, email: 'ok@example.com' },
    ]);
    expect(await query(db.name, 'SELECT id FROM app_users WHERE email = ?', ['Victim@example.com'])).toEqual([]);
    expect(await query(db.name, 'SELECT id FROM app_users WHERE email = ?', ['victim@example.com '])).toEqual([]);
    expect(await query(db.name, 'SELECT identifier FROM devices WHERE identifier = ?', ['phone-abc-1'])).toEqual([]);
    expect(await query(db.name, 'SELECT identifier, secret_hash FROM devices')).toEqual([{ identifier: 'Phone-ABC-1', secret_hash: null }]);
    await query(db.name, "INSERT INTO devices (identifier, user_id) VALUES ('phone-abc-1', 3)");
    const [outbox] = await query<{ cache_keys: string }>(db.name, 'SELECT cache_keys FROM cache_invalidations');
    expect(JSON.parse(outbox.cache_keys).sort()).toEqual(
      [
        'cache:appUsers:id:1',
        'cache:appUsers:email: Victim@Example.COM',
        'cache:appUsers:email:victim@example.com',
        'cache:appUsers:id:2',
        'cache:appUsers:email:zoë@exämple.com',
        'cache:appUsers:email:zoë@xn--exmple-cua.com',
      ].sort(),
    );
  });

  it('stops, naming both rows and changing nothing, when two emails become one canonical address', async () => {
    const db = await oldDatabase(
      `INSERT INTO app_users (id, phone, email, refer_code) VALUES
        (7, '100007', 'a@exämple.com', 'BBBB7777'), (8, '100008', 'a@xn--exmple-cua.com', 'BBBB8888')`,
    );

    await expect(db.migrate()).rejects.toThrow(/a@xn--exmple-cua\.com: app_users\.id=7 \("a@exämple\.com"\), app_users\.id=8 \("a@xn--exmple-cua\.com"\)/);

    expect(await query(db.name, 'SELECT id, email FROM app_users ORDER BY id')).toEqual([
      { id: 7, email: 'a@exämple.com' },
      { id: 8, email: 'a@xn--exmple-cua.com' },
    ]);
    const [column] = await query<{ COLLATION_NAME: string }>(
      db.name,
      "SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'app_users' AND COLUMN_NAME = 'email'",
    );
    expect(column.COLLATION_NAME).toBe('utf8mb4_unicode_ci');
    expect(await query(db.name, "SELECT name FROM migrations WHERE name LIKE 'ExactIdentities%'")).toEqual([]);
  });
});
