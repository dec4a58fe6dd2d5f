import { MigrationInterface, QueryRunner } from 'typeorm';

/** Where change capture resumes after a restart: written only after a transaction's invalidations. */
export class CdcCheckpoints1763800000000 implements MigrationInterface {
  name = 'CdcCheckpoints1763800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE cdc_checkpoints (
        name VARCHAR(64) NOT NULL,
        binlog_file VARCHAR(255) NOT NULL,
        binlog_position BIGINT UNSIGNED NOT NULL,
        gtid TEXT NULL,
        updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
        PRIMARY KEY (name)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE cdc_checkpoints');
  }
}
