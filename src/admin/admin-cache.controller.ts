import { Controller, Delete, Get, Param, Query, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorCode } from '../common/error-codes';
import { ApiEnvelope, ApiErrors, ApiStaffAuth } from '../docs/api-envelope';
import { OaUser } from '../oa-user/oa-user.entity';
import { CurrentStaff, StaffAuthGuard, StaffRoles } from '../oa-user/staff-auth.guard';
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
  health(@CurrentStaff() staff: OaUser) {
    return this.cache.health(staff);
  }

  @Get('keys')
  @ApiOperation({ summary: 'a page of keys of a scope, the next cursor, and key counts per scope' })
  @ApiEnvelope(KeyPageResponse)
  keys(@CurrentStaff() staff: OaUser, @Query() query: ListKeysQuery) {
    return this.cache.listKeys(staff, query);
  }

  @Get('audit')
  @ApiOperation({ summary: 'compare cached entries with MySQL; repair=true deletes the stale ones' })
  @ApiEnvelope(AuditReportResponse)
  audit(@CurrentStaff() staff: OaUser, @Query() query: AuditQuery) {
    return this.cache.runAudit(staff, query.scope, query.repair === 'true');
  }

  @Get('phone/:phone')
  @ApiOperation({ summary: 'read-only: the keys a clear by phone would delete, with their values and TTLs' })
  @ApiEnvelope(CachedLookupResponse)
  lookupPhone(@CurrentStaff() staff: OaUser, @Param() params: PhoneParam) {
    return this.cache.lookupPhone(staff, params.phone);
  }

  @Get('id/:id')
  @ApiOperation({ summary: 'read-only: the keys a clear by id would delete, with their values and TTLs' })
  @ApiEnvelope(CachedLookupResponse)
  lookupId(@CurrentStaff() staff: OaUser, @Param() params: IdParam, @Query() query: IdScopeQuery) {
    return this.cache.lookupId(staff, params.id, query.scope);
  }

  @Delete()
  @ApiOperation({ summary: 'delete every key of a scope (SCAN + UNLINK in batches)' })
  @ApiEnvelope(BulkClearResponse)
  clearScope(@CurrentStaff() staff: OaUser, @Query() query: ClearScopeQuery) {
    return this.cache.clearScope(staff, query.scope);
  }

  @Delete('phone/:phone')
  @ApiOperation({ summary: "delete a phone's index keys (AppUser and OaUser) and the rows they point at" })
  @ApiEnvelope(PhoneClearResponse)
  clearPhone(@CurrentStaff() staff: OaUser, @Param() params: PhoneParam) {
    return this.cache.clearPhone(staff, params.phone);
  }

  @Delete('id/:id')
  @ApiOperation({ summary: "delete an id's row keys and the index keys the cached rows name" })
  @ApiEnvelope(IdClearResponse)
  clearId(@CurrentStaff() staff: OaUser, @Param() params: IdParam, @Query() query: IdScopeQuery) {
    return this.cache.clearId(staff, params.id, query.scope);
  }
}
