import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Durable session endings: what a committed change ended, written in the change's transaction and
 * removed once Redis has revoked those sessions (session/session-ending.outbox.ts).
 */
export class SessionEndings1764300000000 implements MigrationInterface {
  name = 'SessionEndings1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE session_endings (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        endings TEXT NOT NULL,
        ended_by VARCHAR(255) NOT NULL,
        created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        PRIMARY KEY (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE session_endings');
  }
}
