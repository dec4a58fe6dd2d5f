import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { RedisClient } from '../redis/redis-client';
import { DataSource } from 'typeorm';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { AppConfig } from '../config/app-config';
import { StaffActor, staffName } from '../oa-user/staff-auth.guard';
import { REDIS_CLIENT } from '../redis/redis.constants';
import { redisTarget } from '../redis/redis.factory';
import { CacheAdmin } from './cache-admin';
import { InvalidInputError, parseScope } from './cache-admin.inputs';
import { AuditJobs, AuditNotStarted } from './audit-jobs';
import { CacheAudit } from './cache-audit';

/** Stale entries a synchronous audit answers at most, unless asked for fewer. */
export const DEFAULT_AUDIT_LIMIT = 1000;

/** The /admin/cache use cases: the shared CacheAdmin/CacheAudit plus who-did-what logging. */
@Injectable()
export class AdminCacheService implements OnApplicationShutdown {
  private readonly admin: CacheAdmin;
  private readonly audit: CacheAudit;
  private readonly jobs: AuditJobs;
  private readonly logger = new Logger('AdminCache');

  constructor(@Inject(REDIS_CLIENT) redis: RedisClient, config: AppConfig, db: DataSource) {
    this.admin = new CacheAdmin(redis, redisTarget(config));
    this.audit = new CacheAudit(redis, db);
    this.jobs = new AuditJobs(redis, this.audit, (job) =>
      this.logger.log({
        msg: `audit ${job.id} of scope ${job.scope} ${job.status}: ${job.scanned} key(s), ${job.staleTotal} stale, ${job.repaired} repaired${job.error ? `: ${job.error}` : ''}`,
        auditId: job.id,
        by: job.startedBy,
      }),
    );
  }

  async health(actor: StaffActor) {
    const health = await this.admin.health();
    this.record(actor, 'checked cache health', 0);
    if (!health.reachable) throw new AppError(ErrorCode.UNAVAILABLE, 'redis unreachable', health);
    return health;
  }

  async listKeys(actor: StaffActor, query: { scope?: string; cursor?: string; count?: number }) {
    const page = await this.run(() => this.admin.listKeys(query));
    this.record(actor, `listed cache keys of scope ${page.scope} from cursor ${query.cursor ?? '0'}`, 0);
    return page;
  }

  async clearScope(actor: StaffActor, scope: string) {
    const result = await this.run(() => this.admin.clearScope(scope));
    this.record(actor, `cleared cache scope ${result.scope} in ${result.ms} ms`, result.deleted);
    return result;
  }

  async lookupPhone(actor: StaffActor, phone: string) {
    const result = await this.run(() => this.admin.lookupPhone(phone));
    this.record(actor, `looked up the cache of phone ${phone}`, 0);
    return result;
  }

  async lookupId(actor: StaffActor, id: string, scope = 'all') {
    const result = await this.run(() => this.admin.lookupId(id, scope));
    this.record(actor, `looked up the cache of id ${id} in scope ${scope}`, 0);
    return result;
  }

  async clearPhone(actor: StaffActor, phone: string) {
    const result = await this.run(() => this.admin.clearPhone(phone));
    this.record(actor, `cleared the cache of phone ${phone}`, result.deleted.length);
    return { phone, ...result };
  }

  async clearId(actor: StaffActor, id: string, scope = 'all') {
    const result = await this.run(() => this.admin.clearId(id, scope));
    this.record(actor, `cleared the cache of id ${id} in scope ${scope}`, result.deleted.length);
    return { id, scope, ...result };
  }

  async runAudit(actor: StaffActor, scope = 'all', repair = false, limit = DEFAULT_AUDIT_LIMIT) {
    this.mayRepair(actor, repair);
    const report = await this.run(() => this.audit.run({ scope, repair, keep: limit }));
    const what = `audited cache scope ${scope}: ${report.scanned} key(s), ${report.staleTotal} stale`;
    this.record(actor, repair ? `${what}, repaired` : what, report.repaired);
    return report;
  }

  async startAudit(actor: StaffActor, scope: string, repair: boolean) {
    this.mayRepair(actor, repair);
    const job = await this.run(() => this.jobs.start(parseScope(scope), repair, staffName(actor.staff)));
    if (!job.alreadyRunning)
      actor.log.info(
        { context: 'AdminCache', staffId: actor.staff.id, auditId: job.id },
        `${job.startedBy} started audit ${job.id} of scope ${scope}${repair ? ' with repair' : ''}`,
      );
    return job;
  }

  async auditJob(id: string) {
    const job = await this.jobs.get(id);
    if (!job) throw new AppError(ErrorCode.NOT_FOUND, `no audit ${id} (audits are kept for an hour)`);
    return job;
  }

  async auditStale(id: string, offset: number, limit: number) {
    const page = await this.jobs.stale(id, offset, limit);
    if (!page) throw new AppError(ErrorCode.NOT_FOUND, `no audit ${id} (audits are kept for an hour)`);
    return page;
  }

  /** Stops a background audit of this process at its next step; its report says so. */
  onApplicationShutdown(): Promise<void> {
    return this.jobs.stop();
  }

  private mayRepair({ staff }: StaffActor, repair: boolean): void {
    if (repair && staff.role !== 'admin') throw new AppError(ErrorCode.FORBIDDEN, 'requires role admin to repair');
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof InvalidInputError) throw new AppError(ErrorCode.INVALID_PARAM, err.message);
      if (err instanceof AuditNotStarted) throw new AppError(ErrorCode.UNAVAILABLE, `audit not started: ${err.message}`);
      throw err;
    }
  }

  private record({ staff, log }: StaffActor, what: string, keysDeleted: number): void {
    log.info({ context: 'AdminCache', staffId: staff.id, keysDeleted }, `${staffName(staff)} ${what}: ${keysDeleted} key(s) deleted`);
  }
}
