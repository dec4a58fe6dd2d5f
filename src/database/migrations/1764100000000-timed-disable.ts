import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A disable may end by itself (CONTRACT section 3, `PATCH /admin/app-users/:id {disabledUntil}`):
 * the time it ends, in UTC like the other timestamps, indexed for the re-enabler's scan. Rows
 * cached before this column existed lack it, fail the row codec's check and are read again.
 */
export class TimedDisable1764100000000 implements MigrationInterface {
  name = 'TimedDisable1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'ALTER TABLE app_users ADD COLUMN disabled_until DATETIME(3) NULL AFTER status, ADD INDEX idx_app_users_disabled_until (disabled_until)',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE app_users DROP INDEX idx_app_users_disabled_until, DROP COLUMN disabled_until');
  }
}
