import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorCode } from '../common/error-codes';
import { ApiEnvelope, ApiErrors, ApiStaffAuth } from '../docs/api-envelope';
import { CurrentActor, StaffActor, StaffAuthGuard, StaffRoles } from '../oa-user/staff-auth.guard';
import {
  AuditIdParam,
  AuditJobResponse,
  AuditQuery,
  AuditReportResponse,
  StalePageQuery,
  StalePageResponse,
  StartAuditDto,
  BulkClearResponse,
  CachedLookupResponse,
  CacheHealthResponse,
  ClearScopeQuery,
  IdClearResponse,
  IdParam,
  IdScopeQuery,
  KeyPageResponse,
  ListKeysQuery,
  PhoneClearResponse,
  PhoneParam,
} from './admin-cache.dto';
import { AdminCacheService } from './admin-cache.service';

/**
 * CONTRACT section 6: the verbs of the old clear_user_cache.sh. Reading (health, key lists,
 * lookups with secrets redacted, audits without repair) is open to every staff role, so an
 * operator on call can see what the cache holds; deleting anything is for admins only.
 */
@ApiTags('cache administration')
@ApiStaffAuth()
@ApiErrors(ErrorCode.UNAVAILABLE)
@Controller('admin/cache')
@UseGuards(StaffAuthGuard)
export class AdminCacheController {
  constructor(private readonly cache: AdminCacheService) {}

  @Get('health')
  @ApiOperation({ summary: 'Redis reachable? host, port, db, round trip, version (503 with the same data when not)' })
  @ApiEnvelope(CacheHealthResponse)
  health(@CurrentActor() actor: StaffActor) {
    return this.cache.health(actor);
  }

  @Get('keys')
  @ApiOperation({ summary: 'a page of keys of a scope, the next cursor, and key counts per scope' })
  @ApiEnvelope(KeyPageResponse)
  keys(@CurrentActor() actor: StaffActor, @Query() query: ListKeysQuery) {
    return this.cache.listKeys(actor, query);
  }

  @Get('audit')
  @StaffRoles('admin')
  @ApiOperation({
    summary: 'admins: compare cached entries with MySQL and answer when done; repair=true deletes the stale ones',
    description:
      'Answers the totals and at most `limit` stale entries, holding the request for the whole audit (seconds per 100,000 keys). Operators, and anyone auditing a large keyspace, start a background audit with POST /admin/cache/audits instead.',
  })
  @ApiEnvelope(AuditReportResponse)
  @ApiErrors(ErrorCode.FORBIDDEN)
  audit(@CurrentActor() actor: StaffActor, @Query() query: AuditQuery) {
    return this.cache.runAudit(actor, query.scope, query.repair === 'true', query.limit);
  }

  @Post('audits')
  @HttpCode(200)
  @ApiOperation({
    summary: 'start an audit in the background (repair: admins only); answers its id and totals so far',
    description:
      'One audit runs per process; while it runs, another start answers the running one with `alreadyRunning: true`. The report is readable for an hour from any process.',
  })
  @ApiEnvelope(AuditJobResponse)
  @ApiErrors(ErrorCode.FORBIDDEN)
  startAudit(@CurrentActor() actor: StaffActor, @Body() body: StartAuditDto) {
    return this.cache.startAudit(actor, body.scope ?? 'all', body.repair ?? false);
  }

  @Get('audits/:id')
  @ApiOperation({ summary: "an audit's progress and totals by reason (status running, done, failed or interrupted)" })
  @ApiEnvelope(AuditJobResponse)
  @ApiErrors(ErrorCode.NOT_FOUND)
  auditJob(@Param() params: AuditIdParam) {
    return this.cache.auditJob(params.id);
  }

  @Get('audits/:id/stale')
  @ApiOperation({ summary: "one page of an audit's stale entries, in the order found" })
  @ApiEnvelope(StalePageResponse)
  @ApiErrors(ErrorCode.NOT_FOUND)
  auditStale(@Param() params: AuditIdParam, @Query() query: StalePageQuery) {
    return this.cache.auditStale(params.id, query.offset ?? 0, query.limit ?? 50);
  }

  @Get('phone/:phone')
  @ApiOperation({ summary: 'read-only: the keys a clear by phone would delete, with their values and TTLs' })
  @ApiEnvelope(CachedLookupResponse)
  lookupPhone(@CurrentActor() actor: StaffActor, @Param() params: PhoneParam) {
    return this.cache.lookupPhone(actor, params.phone);
  }

  @Get('id/:id')
  @ApiOperation({ summary: 'read-only: the keys a clear by id would delete, with their values and TTLs' })
  @ApiEnvelope(CachedLookupResponse)
  lookupId(@CurrentActor() actor: StaffActor, @Param() params: IdParam, @Query() query: IdScopeQuery) {
    return this.cache.lookupId(actor, params.id, query.scope);
  }

  @Delete()
  @StaffRoles('admin')
  @ApiOperation({ summary: 'delete every key of a scope (SCAN + UNLINK in batches)' })
  @ApiEnvelope(BulkClearResponse)
  clearScope(@CurrentActor() actor: StaffActor, @Query() query: ClearScopeQuery) {
    return this.cache.clearScope(actor, query.scope);
  }

  @Delete('phone/:phone')
  @StaffRoles('admin')
  @ApiOperation({ summary: "delete a phone's index keys (AppUser and OaUser) and the rows they point at" })
  @ApiEnvelope(PhoneClearResponse)
  clearPhone(@CurrentActor() actor: StaffActor, @Param() params: PhoneParam) {
    return this.cache.clearPhone(actor, params.phone);
  }

  @Delete('id/:id')
  @StaffRoles('admin')
  @ApiOperation({ summary: "delete an id's row keys and the index keys the cached rows name" })
  @ApiEnvelope(IdClearResponse)
  clearId(@CurrentActor() actor: StaffActor, @Param() params: IdParam, @Query() query: IdScopeQuery) {
    return this.cache.clearId(actor, params.id, query.scope);
  }
}
