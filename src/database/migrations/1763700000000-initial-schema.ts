import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1763700000000 implements MigrationInterface {
  name = 'InitialSchema1763700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE app_users (
        id INT UNSIGNED NOT NULL AUTO_INCREMENT,
        phone VARCHAR(20) NULL,
        email VARCHAR(254) NULL,
        nickname VARCHAR(32) NOT NULL DEFAULT '',
        password_hash VARCHAR(255) NULL,
        status TINYINT UNSIGNED NOT NULL DEFAULT 1,
        refer_code VARCHAR(16) NOT NULL,
        referrer_id INT UNSIGNED NULL,
        created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
        PRIMARY KEY (id),
        UNIQUE KEY uq_app_users_phone (phone),
        UNIQUE KEY uq_app_users_email (email),
        UNIQUE KEY uq_app_users_refer_code (refer_code),
        KEY idx_app_users_referrer_id (referrer_id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await queryRunner.query(`
      CREATE TABLE oa_users (
        id INT UNSIGNED NOT NULL AUTO_INCREMENT,
        phone VARCHAR(20) NOT NULL,
        name VARCHAR(64) NOT NULL DEFAULT '',
        password_hash VARCHAR(255) NOT NULL,
        role VARCHAR(16) NOT NULL DEFAULT 'operator',
        status TINYINT UNSIGNED NOT NULL DEFAULT 1,
        created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
        PRIMARY KEY (id),
        UNIQUE KEY uq_oa_users_phone (phone)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await queryRunner.query(`
      CREATE TABLE devices (
        id INT UNSIGNED NOT NULL AUTO_INCREMENT,
        identifier VARCHAR(128) NOT NULL,
        user_id INT UNSIGNED NOT NULL,
        name VARCHAR(64) NOT NULL DEFAULT '',
        platform VARCHAR(32) NOT NULL DEFAULT '',
        created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
        updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
        PRIMARY KEY (id),
        UNIQUE KEY uq_devices_identifier (identifier),
        KEY idx_devices_user_id (user_id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    // The invalidation outbox: written in the same transaction as the change it invalidates,
    // relayed to Redis after commit, retried until Redis answers (see src/cache/README).
    await queryRunner.query(`
      CREATE TABLE cache_invalidations (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        cache_keys TEXT NOT NULL,
        created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        PRIMARY KEY (id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE cache_invalidations');
    await queryRunner.query('DROP TABLE devices');
    await queryRunner.query('DROP TABLE oa_users');
    await queryRunner.query('DROP TABLE app_users');
  }
}
