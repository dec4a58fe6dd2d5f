import { randomBytes } from 'crypto';
import type { RedisClient } from '../redis/redis-client';
import { AuditProgress, CacheAudit, STALE_REASONS, StaleEntry, StaleReason } from './cache-audit';

export type AuditJobStatus = 'running' | 'done' | 'failed' | 'interrupted';

/** What GET /admin/cache/audits/:id answers: the totals so far, never the stale entries themselves. */
export interface AuditJob {
  id: string;
  scope: string;
  repair: boolean;
  status: AuditJobStatus;
  /** Who started it, as the logs name staff. */
  startedBy: string;
  startedAt: string;
  /** The last progress the running process wrote; a running audit silent for long was interrupted. */
  updatedAt: string;
  finishedAt: string | null;
  /** How much of the keyspace (every master's) has been covered, from 0 to 1. */
  fraction: number;
  scanned: number;
  unknown: number;
  staleTotal: number;
  staleByReason: Record<StaleReason, number>;
  repaired: number;
  error: string | null;
}

export interface StalePage {
  id: string;
  /** Stale entries stored so far (all of them once the audit is done). */
  total: number;
  offset: number;
  items: StaleEntry[];
}

/** How long an audit's report and stale list stay readable after its last progress. */
export const AUDIT_TTL_SECONDS = 3600;
/** A running audit writes progress at least this often; silence three times as long means its process died. */
const PROGRESS_EVERY_MS = 500;
const INTERRUPTED_AFTER_MS = 30_000;
export const AUDIT_ID_PATTERN = /^[0-9a-f]{16}$/;

/**
 * Where an audit's report lives: `admin_audit:{<id>}` (its totals, JSON) and
 * `admin_audit:{<id>}:stale` (a list of its stale entries, in the order found). The hash tag keeps
 * both in one slot on a cluster; neither is a cache key, so no scope, clear or audit sees them.
 */
export const auditKeys = (id: string) => ({ report: `admin_audit:{${id}}`, stale: `admin_audit:{${id}}:stale` });

/**
 * Audits that run in the background and are read in pages, by any process: an audit of 200,000
 * stale keys answers its start at once, and the page reads totals and one page of entries at a
 * time instead of one answer of tens of megabytes. The report is kept in Redis for an hour. One
 * audit runs per process at a time; starting another while it runs answers the running one.
 */
export class AuditJobs {
  private running: AuditJob | null = null;
  private stopping = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly audit: CacheAudit,
    private readonly onFinished: (job: AuditJob) => void = () => undefined,
  ) {}

  /** Starts an audit, or answers the one this process is running (`alreadyRunning`). */
  async start(scope: string, repair: boolean, startedBy: string): Promise<AuditJob & { alreadyRunning: boolean }> {
    if (this.running) return { ...this.running, alreadyRunning: true };
    if (this.stopping) throw new Error('the process is shutting down');
    const now = new Date().toISOString();
    const job: AuditJob = {
      id: randomBytes(8).toString('hex'),
      scope,
      repair,
      status: 'running',
      startedBy,
      startedAt: now,
      updatedAt: now,
      finishedAt: null,
      fraction: 0,
      scanned: 0,
      unknown: 0,
      staleTotal: 0,
      staleByReason: Object.fromEntries(STALE_REASONS.map((r) => [r, 0])) as Record<StaleReason, number>,
      repaired: 0,
      error: null,
    };
    await this.save(job);
    this.running = job;
    void this.runJob(job);
    return { ...job, alreadyRunning: false };
  }

  /** The audit's totals, or null when there is no such audit (never started, or expired). */
  async get(id: string): Promise<AuditJob | null> {
    const raw = await this.redis.get(auditKeys(id).report);
    if (raw === null) return null;
    const job = JSON.parse(raw) as AuditJob;
    if (job.status === 'running' && Date.now() - Date.parse(job.updatedAt) > INTERRUPTED_AFTER_MS) {
      return { ...job, status: 'interrupted', error: 'the process running this audit stopped before it finished' };
    }
    return job;
  }

  /** One page of the stale entries found so far, in the order they were found. */
  async stale(id: string, offset: number, limit: number): Promise<StalePage | null> {
    const key = auditKeys(id).stale;
    const [total, items] = await Promise.all([this.redis.llen(key), this.redis.lrange(key, offset, offset + limit - 1)]);
    if (total === 0 && (await this.redis.exists(auditKeys(id).report)) === 0) return null;
    return { id, total, offset, items: items.map((item) => JSON.parse(item) as StaleEntry) };
  }

  /** Stops the audit this process runs at its next step, recording it as failed (shutdown). */
  async stop(): Promise<void> {
    this.stopping = true;
    while (this.running) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  private async runJob(job: AuditJob): Promise<void> {
    let lastWrite = 0;
    const keys = auditKeys(job.id);
    try {
      const report = await this.audit.run({
        scope: job.scope,
        repair: job.repair,
        keep: 0,
        onStale: async (entries) => {
          await this.redis.rpush(keys.stale, ...entries.map((entry) => JSON.stringify(entry)));
          await this.redis.expire(keys.stale, AUDIT_TTL_SECONDS);
          entries.forEach((entry) => (job.staleByReason[entry.reason] += 1));
          job.staleTotal += entries.length;
        },
        onProgress: (progress: AuditProgress) => {
          if (this.stopping) throw new Error('stopped: the process shut down');
          job.scanned = progress.scanned;
          job.fraction = progress.fraction;
          if (Date.now() - lastWrite < PROGRESS_EVERY_MS) return;
          lastWrite = Date.now();
          void this.save(job).catch(() => undefined);
        },
      });
      Object.assign(job, {
        status: 'done',
        fraction: 1,
        scanned: report.scanned,
        unknown: report.unknown,
        staleTotal: report.staleTotal,
        staleByReason: report.staleByReason,
        repaired: report.repaired,
      });
    } catch (err) {
      Object.assign(job, { status: 'failed', error: (err as Error).message });
    }
    job.finishedAt = new Date().toISOString();
    await this.save(job).catch(() => undefined);
    this.running = null;
    this.onFinished(job);
  }

  private async save(job: AuditJob): Promise<void> {
    job.updatedAt = new Date().toISOString();
    await this.redis.set(auditKeys(job.id).report, JSON.stringify(job), 'EX', AUDIT_TTL_SECONDS);
  }
}
