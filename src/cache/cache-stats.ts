import { Injectable } from '@nestjs/common';

export interface EntityCounts {
  hits: number;
  misses: number;
  /** Cached values that were not a valid row (or id) of the entity, treated as misses. */
  foreign: number;
}

/** Hit and miss counts per cached entity (go-zero logs the same as its dbcache hit_ratio). */
@Injectable()
export class CacheStats {
  private readonly counts = new Map<string, EntityCounts>();

  hit(entity: string): void {
    this.entry(entity).hits += 1;
  }

  miss(entity: string): void {
    this.entry(entity).misses += 1;
  }

  foreign(entity: string): void {
    this.entry(entity).foreign += 1;
  }

  snapshot(): Record<string, EntityCounts & { hitRatio: number }> {
    return Object.fromEntries([...this.counts].map(([entity, c]) => [entity, { ...c, hitRatio: c.hits + c.misses === 0 ? 0 : c.hits / (c.hits + c.misses) }]));
  }

  private entry(entity: string): EntityCounts {
    let entry = this.counts.get(entity);
    if (!entry) this.counts.set(entity, (entry = { hits: 0, misses: 0, foreign: 0 }));
    return entry;
  }
}
