import { MigrationInterface, QueryRunner } from 'typeorm';
import { CACHE_FAMILIES, keysOfRow } from '../../cache/cache-keys';
import { canonicalEmail } from '../../common/email-address';

/**
 * Identities are exact (CONTRACT section 3). Device identifiers and emails get a binary collation
 * without trailing-space padding, so MySQL compares them byte for byte as Redis does; emails are
 * rewritten to their canonical form first; devices get a column for the hash of their secret;
 * nicknames get room for 32 user-perceived characters.
 *
 * Two rows whose emails have the same canonical form (`a@exämple.com` beside
 * `a@xn--exmple-cua.com`, which the old accent-insensitive collation let live side by side) would
 * become one identity: the migration stops and names them, and merges or drops nothing. An email
 * that has no canonical form (an invalid domain written by hand) is left as it is.
 */
export class ExactIdentities1764000000000 implements MigrationInterface {
  name = 'ExactIdentities1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const binary = await binaryCollation(queryRunner);
    // Checked before anything changes (DDL cannot be rolled back); rewritten after the collation
    // is binary, when no rewrite can collide with another row under the old rules.
    const rewritten = await canonicalEmails(queryRunner);
    await queryRunner.query(`
      ALTER TABLE app_users
        MODIFY email VARCHAR(254) CHARACTER SET utf8mb4 COLLATE ${binary} NULL,
        MODIFY nickname VARCHAR(512) NOT NULL DEFAULT ''`);
    await queryRunner.query(`
      ALTER TABLE devices
        MODIFY identifier VARCHAR(128) CHARACTER SET utf8mb4 COLLATE ${binary} NOT NULL,
        ADD COLUMN secret_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL AFTER platform`);
    for (const { id, to } of rewritten) {
      await queryRunner.query('UPDATE app_users SET email = ? WHERE id = ?', [to, id]);
    }
    if (rewritten.length > 0) {
      // Raw SQL passes no subscriber: the outbox relay of every process clears the cached copies.
      const keys = rewritten.flatMap(({ id, from, to }) => [
        ...keysOfRow(CACHE_FAMILIES.appUsers, { id, email: from }),
        ...keysOfRow(CACHE_FAMILIES.appUsers, { email: to }),
      ]);
      await queryRunner.query('INSERT INTO cache_invalidations (cache_keys) VALUES (?)', [JSON.stringify(keys)]);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'ALTER TABLE devices DROP COLUMN secret_hash, MODIFY identifier VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL',
    );
    await queryRunner.query(`
      ALTER TABLE app_users
        MODIFY email VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
        MODIFY nickname VARCHAR(32) NOT NULL DEFAULT ''`);
  }
}

/** MariaDB's no-pad binary collation, MySQL 8's, or (older servers) the padded one. */
async function binaryCollation(queryRunner: QueryRunner): Promise<string> {
  for (const name of ['utf8mb4_nopad_bin', 'utf8mb4_0900_bin']) {
    const rows: unknown[] = await queryRunner.query('SHOW COLLATION WHERE Collation = ?', [name]);
    if (rows.length > 0) return name;
  }
  return 'utf8mb4_bin';
}

interface Rewrite {
  id: number;
  from: string;
  to: string;
}

async function canonicalEmails(queryRunner: QueryRunner): Promise<Rewrite[]> {
  const rows: Array<{ id: number; email: string }> = await queryRunner.query('SELECT id, email FROM app_users WHERE email IS NOT NULL ORDER BY id');
  const byCanonical = new Map<string, Array<{ id: number; email: string }>>();
  for (const row of rows) {
    const canonical = canonicalEmail(row.email) ?? row.email;
    byCanonical.set(canonical, [...(byCanonical.get(canonical) ?? []), row]);
  }
  const collisions = [...byCanonical].filter(([, group]) => group.length > 1);
  if (collisions.length > 0) {
    const lines = collisions.map(([canonical, group]) => `  ${canonical}: ${group.map((r) => `app_users.id=${r.id} (${JSON.stringify(r.email)})`).join(', ')}`);
    throw new Error(
      `ExactIdentities: ${collisions.length} email(s) are held by several users once written in canonical form; ` +
        `nothing was changed. Decide which user keeps each email (set the others' email to NULL or another address), then start again:\n${lines.join('\n')}`,
    );
  }
  return [...byCanonical].flatMap(([canonical, [row]]) => (canonical !== row.email ? [{ id: Number(row.id), from: row.email, to: canonical }] : []));
}
