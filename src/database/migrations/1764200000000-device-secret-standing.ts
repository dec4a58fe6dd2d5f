import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a device's secret stands on (docs/api.md, "Device credentials"): the fingerprint of its
 * account's password when the secret was issued, so that a new password (through the API or by
 * hand) stops every other device's secret; or `signed_out` / `kicked` once the device was signed
 * out, so that it comes back only with a phone login. Null: a secret from before this column,
 * which stands on nothing more than itself.
 */
export class DeviceSecretStanding1764200000000 implements MigrationInterface {
  name = 'DeviceSecretStanding1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE devices ADD COLUMN secret_for VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NULL AFTER secret_hash');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE devices DROP COLUMN secret_for');
  }
}
