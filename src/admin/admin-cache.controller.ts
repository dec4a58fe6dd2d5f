import { Controller, Delete, Get, Param, Query, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorCode } from '../common/error-codes';
import { ApiEnvelope, ApiErrors, ApiStaffAuth } from '../docs/api-envelope';
import { CurrentActor, StaffActor, StaffAuthGuard, StaffRoles } from '../oa-user/staff-auth.guard';
import {
  AuditQuery,
  AuditReportResponse,
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

/** CONTRACT section 6: the verbs of the old clear_user_cache.sh, for admins only. */
@ApiTags('cache administration')
@ApiStaffAuth()
@ApiErrors(ErrorCode.UNAVAILABLE)
@Controller('admin/cache')
@UseGuards(StaffAuthGuard)
@StaffRoles('admin')
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
  @ApiOperation({ summary: 'compare cached entries with MySQL; repair=true deletes the stale ones' })
  @ApiEnvelope(AuditReportResponse)
  audit(@CurrentActor() actor: StaffActor, @Query() query: AuditQuery) {
    return this.cache.runAudit(actor, query.scope, query.repair === 'true');
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
  @ApiOperation({ summary: 'delete every key of a scope (SCAN + UNLINK in batches)' })
  @ApiEnvelope(BulkClearResponse)
  clearScope(@CurrentActor() actor: StaffActor, @Query() query: ClearScopeQuery) {
    return this.cache.clearScope(actor, query.scope);
  }

  @Delete('phone/:phone')
  @ApiOperation({ summary: "delete a phone's index keys (AppUser and OaUser) and the rows they point at" })
  @ApiEnvelope(PhoneClearResponse)
  clearPhone(@CurrentActor() actor: StaffActor, @Param() params: PhoneParam) {
    return this.cache.clearPhone(actor, params.phone);
  }

  @Delete('id/:id')
  @ApiOperation({ summary: "delete an id's row keys and the index keys the cached rows name" })
  @ApiEnvelope(IdClearResponse)
  clearId(@CurrentActor() actor: StaffActor, @Param() params: IdParam, @Query() query: IdScopeQuery) {
    return this.cache.clearId(actor, params.id, query.scope);
  }
}
