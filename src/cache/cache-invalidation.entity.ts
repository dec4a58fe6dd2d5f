import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** One pending invalidation of the outbox: the keys a committed change made stale. */
@Entity('cache_invalidations')
export class CacheInvalidation {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id: string;

  @Column({ name: 'cache_keys', type: 'text' })
  cacheKeys: string;

  @CreateDateColumn({ name: 'created_at', precision: 3 })
  createdAt: Date;
}
