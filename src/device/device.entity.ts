import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

@Entity('devices')
export class Device {
  @PrimaryGeneratedColumn({ type: 'int', unsigned: true })
  id: number;

  /** Compared byte for byte: a binary, no-pad collation (migration ExactIdentities). */
  @Column({ type: 'varchar', length: 128, unique: true })
  identifier: string;

  @Index('idx_devices_user_id')
  @Column({ name: 'user_id', type: 'int', unsigned: true })
  userId: number;

  @Column({ type: 'varchar', length: 64, default: '' })
  name: string;

  @Column({ type: 'varchar', length: 32, default: '' })
  platform: string;

  /** SHA-256 (hex) of the device's current secret; null for a device that predates secrets. */
  @Column({ name: 'secret_hash', type: 'char', length: 64, nullable: true })
  secretHash: string | null;

  /**
   * What the secret stands on: the passwordFingerprint of the owner's password when it was
   * issued (a new password stops it), or the mark of a sign-out (`signed_out`, `kicked`: only a
   * phone login brings the device back). Null for a secret from before this was kept.
   */
  @Column({ name: 'secret_for', type: 'varchar', length: 16, nullable: true, default: null })
  secretFor: string | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt: Date;
}
