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
  /** Stale entries found (all of them). */
  staleTotal: number;
  /** Stale entries kept for paging: the first STALE_KEPT found. */
  staleKept: number;
  staleByReason: Record<StaleReason, number>;
  repaired: number;
  error: string | null;
}

export interface StalePage {
  id: string;
  /** Stale entries kept so far (all of them once the audit is done, up to STALE_KEPT). */
  total: number;
  offset: number;
  items: StaleEntry[];
}

/** The audit could not start; the caller says why in its own terms. */
export class AuditNotStarted extends Error {}

/** How long an audit's report and stale list stay readable after its last progress. */
export const AUDIT_TTL_SECONDS = 3600;
/**
 * Stale entries kept per audit for paging (about 100 bytes each in Redis): the totals count every
 * one, the list keeps the first ten thousand, so no audit can fill the Redis that sessions live in.
 */
export const STALE_KEPT = 10_000;
/** A running audit writes its report at least this often, progress or not. */
const HEARTBEAT_MS = 5_000;
/** Progress is written at most this often. */
const PROGRESS_EVERY_MS = 500;
/** A running audit silent this long has lost its process. */
const INTERRUPTED_AFTER_MS = 30_000;
export const AUDIT_ID_PATTERN = /^[0-9a-f]{16}$/;

/**
 * Where audits live: `admin_audit:{<id>}` (the report, JSON), `admin_audit:{<id>}:stale` (a list of
 * the first stale entries, in the order found) and `admin_audit:running` (which audit runs, held by
 * its process while it runs). The hash tag keeps an audit's two keys in one slot on a cluster;
 * none is a cache key, so no scope, clear or audit sees them.
 */
export const auditKeys = (id: string) => ({ report: `admin_audit:{${id}}`, stale: `admin_audit:{${id}}:stale` });
export const AUDIT_RUNNING_KEY = 'admin_audit:running';

const REFRESH_IF_OWNER = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE_IF_OWNER = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Audits that run in the background and are read in pages, by any process: an audit of 200,000
 * stale keys answers its start at once, and the page reads totals and one page of entries at a
 * time instead of one answer of tens of megabytes. The report is kept in Redis for an hour. One
 * audit runs at a time in the whole deployment (`admin_audit:running`): starting another while it
 * runs answers the running one.
 */
export class AuditJobs {
  private running: AuditJob | null = null;
  private stopping = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly audit: CacheAudit,
    private readonly onFinished: (job: AuditJob) => void = () => undefined,
  ) {}

  /** Starts an audit, or answers the one running (`alreadyRunning`), on this process or another. */
  async start(scope: string, repair: boolean, startedBy: string): Promise<AuditJob & { alreadyRunning: boolean }> {
    if (this.stopping) throw new AuditNotStarted('the process is shutting down');
    if (this.running) return { ...this.running, alreadyRunning: true };
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
      staleKept: 0,
      staleByReason: Object.fromEntries(STALE_REASONS.map((r) => [r, 0])) as Record<StaleReason, number>,
      repaired: 0,
      error: null,
    };
    // Taken before the first await: two starts at the same moment on this process make one audit.
    this.running = job;
    try {
      const running = await this.claim(job);
      if (running) {
        this.running = null;
        return { ...running, alreadyRunning: true };
      }
      await this.save(job);
    } catch (err) {
      if (this.running === job) this.running = null;
      await this.release(job).catch(() => undefined);
      throw err;
    }
    void this.runJob(job);
    return { ...job, alreadyRunning: false };
  }

  /**
   * Takes `admin_audit:running` for the job, or answers the audit that holds it. Another process's
   * audit may end, or not have written its first report yet, between two reads: a few tries.
   */
  private async claim(job: AuditJob): Promise<AuditJob | null> {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      if ((await this.redis.set(AUDIT_RUNNING_KEY, job.id, 'PX', INTERRUPTED_AFTER_MS, 'NX')) !== null) return null;
      const other = await this.redis.get(AUDIT_RUNNING_KEY);
      const report = other === null ? null : await this.get(other);
      if (report) return report;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new AuditNotStarted('another audit is starting: try again in a moment');
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

  /** One page of the stale entries kept so far, in the order they were found. */
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
    const keys = auditKeys(job.id);
    let lastWrite = Date.now();
    // Writes in order, never two at once: a late progress write cannot overwrite the final report.
    let writes: Promise<void> = Promise.resolve();
    const write = () => (writes = writes.then(() => this.save(job)).catch(() => undefined));
    const heartbeat = setInterval(() => void write(), HEARTBEAT_MS);
    heartbeat.unref();
    try {
      const report = await this.audit.run({
        scope: job.scope,
        repair: job.repair,
        keep: 0,
        onProgress: (progress: AuditProgress) => {
          if (this.stopping) throw new Error('stopped: the process shut down');
          Object.assign(job, { scanned: progress.scanned, fraction: progress.fraction });
          if (Date.now() - lastWrite < PROGRESS_EVERY_MS) return;
          lastWrite = Date.now();
          void write();
        },
        onStale: async (entries) => {
          entries.forEach((entry) => (job.staleByReason[entry.reason] += 1));
          job.staleTotal += entries.length;
          const kept = entries.slice(0, Math.max(0, STALE_KEPT - job.staleKept));
          if (kept.length === 0) return;
          await this.redis.rpush(keys.stale, ...kept.map((entry) => JSON.stringify(entry)));
          await this.redis.expire(keys.stale, AUDIT_TTL_SECONDS);
          job.staleKept += kept.length;
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
    clearInterval(heartbeat);
    job.finishedAt = new Date().toISOString();
    await write();
    await this.redis.expire(keys.stale, AUDIT_TTL_SECONDS).catch(() => undefined);
    await this.release(job).catch(() => undefined);
    this.running = null;
    this.onFinished(job);
  }

  private async save(job: AuditJob): Promise<void> {
    job.updatedAt = new Date().toISOString();
    await this.redis.set(auditKeys(job.id).report, JSON.stringify(job), 'EX', AUDIT_TTL_SECONDS);
    if (job.status === 'running') await this.redis.eval(REFRESH_IF_OWNER, 1, AUDIT_RUNNING_KEY, job.id, String(INTERRUPTED_AFTER_MS));
  }

  private async release(job: AuditJob): Promise<void> {
    await this.redis.eval(RELEASE_IF_OWNER, 1, AUDIT_RUNNING_KEY, job.id);
  }
}
