import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { DataSource } from 'typeorm';
import { CdcStatus } from '../cdc/cdc-status';
import { MetricsRegistry } from './metrics.registry';
import { RecentSessionEnd, RecentSessionEnds } from './recent-session-ends';

/** Outbox rows counted at most: beyond, the panel says "more than". */
export const BACKLOG_COUNTED = 100_000;

export interface Backlog {
  /** Rows waiting, counted up to BACKLOG_COUNTED + 1. */
  pending: number;
  /** Age of the oldest pending row, in seconds; null when nothing is pending. */
  oldestAgeSeconds: number | null;
}

export interface EntityCacheFigures {
  entity: string;
  hits: number;
  misses: number;
  /** hits / (hits + misses); null before the first read. */
  hitRatio: number | null;
  invalidatedKeys: number;
  failedInvalidations: number;
}

/** One part of the report that could not be read, with why: the rest is still worth showing. */
export interface Unavailable {
  unavailable: string;
}

export interface CoherenceReport {
  at: string;
  /** The process that answered: the counters are its own since it started. */
  process: { pid: number; uptimeSeconds: number };
  cdc: ReturnType<CdcStatus['snapshot']> & { checkpointSavedAgoSeconds: number | null };
  outbox: { invalidations: Backlog; sessionEndings: Backlog } | Unavailable;
  cache: EntityCacheFigures[];
  sessionsEnded: Record<string, number>;
  socketsKicked: Record<string, number>;
  recentSessionEnds: RecentSessionEnd[] | Unavailable;
}

/**
 * What someone on call asks first, in one answer: is change capture leading and how far behind,
 * is the invalidation outbox draining, how well the cache serves, which sessions ended and why.
 * Read from what the service already keeps: change capture's status, the two outbox tables, this
 * process's metrics and the list of recent session ends. A part that cannot be read (MySQL or
 * Redis down) says so and the rest is still answered.
 */
@Injectable()
export class CoherenceService {
  constructor(
    private readonly cdc: CdcStatus,
    private readonly registry: MetricsRegistry,
    private readonly recent: RecentSessionEnds,
    @InjectDataSource() private readonly db: DataSource,
  ) {}

  /** Consoles asking at once share one reading. */
  report(): Promise<CoherenceReport> {
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private reading?: Promise<CoherenceReport>;

  private async read(): Promise<CoherenceReport> {
    const [outbox, checkpointAge, recent, hits, misses, invalidated, failed, ended, kicked] = await Promise.all([
      this.outbox().catch(unavailable),
      this.checkpointAge().catch(() => null),
      this.recent.list().catch(unavailable),
      this.values('hi_cache_hits_total'),
      this.values('hi_cache_misses_total'),
      this.values('hi_cache_invalidated_keys_total'),
      this.values('hi_cache_invalidation_failed_keys_total'),
      this.values('hi_sessions_revoked_total'),
      this.values('hi_sockets_kicked_total'),
    ]);
    const entities = [...new Set([...hits, ...misses, ...invalidated, ...failed].map((v) => String(v.labels.entity)))].sort();
    const sum = (values: MetricValue<string>[], entity: string) => values.filter((v) => v.labels.entity === entity).reduce((n, v) => n + v.value, 0);
    return {
      at: new Date().toISOString(),
      process: { pid: process.pid, uptimeSeconds: Math.round(process.uptime()) },
      cdc: { ...this.cdc.snapshot(), checkpointSavedAgoSeconds: checkpointAge },
      outbox,
      cache: entities.map((entity) => {
        const [h, m] = [sum(hits, entity), sum(misses, entity)];
        return {
          entity,
          hits: h,
          misses: m,
          hitRatio: h + m === 0 ? null : Math.round((h / (h + m)) * 1000) / 1000,
          invalidatedKeys: sum(invalidated, entity),
          failedInvalidations: sum(failed, entity),
        };
      }),
      sessionsEnded: byLabel(ended, 'reason'),
      socketsKicked: byLabel(kicked, 'reason'),
      recentSessionEnds: recent,
    };
  }

  private async outbox(): Promise<{ invalidations: Backlog; sessionEndings: Backlog }> {
    const [invalidations, sessionEndings] = await Promise.all(['cache_invalidations', 'session_endings'].map((table) => this.backlog(table)));
    return { invalidations, sessionEndings };
  }

  /**
   * Rows waiting, counted up to BACKLOG_COUNTED (a backlog grows during an outage, when the panel
   * is watched most), and the age of the oldest: the first by id, read through the primary key.
   */
  private async backlog(table: string): Promise<Backlog> {
    const [row] = await this.db.query(
      `SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM ${table} LIMIT ${BACKLOG_COUNTED + 1}) AS waiting) AS pending,
              (SELECT TIMESTAMPDIFF(MICROSECOND, created_at, NOW(3)) FROM ${table} ORDER BY id LIMIT 1) AS age`,
    );
    return { pending: Number(row.pending), oldestAgeSeconds: row.age === null ? null : Math.round(Number(row.age) / 100_000) / 10 };
  }

  /** How long ago the leader last saved its checkpoint: readable on a standby too. */
  private async checkpointAge(): Promise<number | null> {
    if (this.cdc.role === 'off') return null;
    const rows = await this.db.query(`SELECT TIMESTAMPDIFF(MICROSECOND, updated_at, NOW(3)) AS age FROM cdc_checkpoints WHERE name = 'binlog'`);
    return rows.length === 0 ? null : Math.round(Number(rows[0].age) / 100_000) / 10;
  }

  private async values(name: string): Promise<MetricValue<string>[]> {
    const metric = this.registry.getSingleMetric(name);
    if (!metric) return [];
    return ((await metric.get()) as MetricObjectWithValues<MetricValue<string>>).values;
  }
}

function byLabel(values: MetricValue<string>[], label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[String(v.labels[label])] = (out[String(v.labels[label])] ?? 0) + v.value;
  return out;
}

function unavailable(err: Error): Unavailable {
  return { unavailable: err.message };
}
