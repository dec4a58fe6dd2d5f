import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { UserStatus } from '../common/user-status';

@Entity('app_users')
export class AppUser {
  @PrimaryGeneratedColumn({ type: 'int', unsigned: true })
  id: number;

  @Column({ type: 'varchar', length: 20, nullable: true, unique: true })
  phone: string | null;

  /** In canonical form (canonicalEmail), compared byte for byte: a binary, no-pad collation. */
  @Column({ type: 'varchar', length: 254, nullable: true, unique: true })
  email: string | null;

  /** 32 user-perceived characters may take up to NICKNAME_MAX_CODE_POINTS code points. */
  @Column({ type: 'varchar', length: 512, default: '' })
  nickname: string;

  @Column({ name: 'password_hash', type: 'varchar', length: 255, nullable: true })
  passwordHash: string | null;

  @Column({ type: 'tinyint', unsigned: true, default: UserStatus.Active })
  status: UserStatus;

  /** A disable that ends by itself ends at this time (UTC); null for an active user or a lasting disable. */
  @Column({ name: 'disabled_until', type: 'datetime', precision: 3, nullable: true, default: null })
  disabledUntil: Date | null;

  @Column({ name: 'refer_code', type: 'varchar', length: 16, unique: true })
  referCode: string;

  @Column({ name: 'referrer_id', type: 'int', unsigned: true, nullable: true })
  referrerId: number | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt: Date;
}
