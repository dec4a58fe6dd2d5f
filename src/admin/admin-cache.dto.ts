import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, Matches, Max, Min, ValidateBy } from 'class-validator';
import { IsPhone, PHONE_PATTERN } from '../common/validation';
import type { BulkClearResult, CachedEntry, CachedLookup, CacheHealth, KeyPage, ScopeCounts } from './cache-admin';
import { STALE_REASONS, StaleReason } from './cache-audit';
import type { AuditReport, StaleEntry } from './cache-audit';
import { AUDIT_ID_PATTERN } from './audit-jobs';
import type { AuditJob, AuditJobStatus, StalePage } from './audit-jobs';

const MAX_AUDIT_LIMIT = 10000;
const MAX_STALE_PAGE = 500;
import { CLEAR_SCOPES, ClearScope, CURSOR_PATTERN, ID_PATTERN, ID_SCOPES, IdScope, isScanCursor, MAX_PAGE } from './cache-admin.inputs';

const scopeMessage = (scopes: readonly string[]) => ({ message: `$property must be one of ${scopes.join(', ')}` });

/** A bulk clear names its scope explicitly: over HTTP nothing is cleared by default. */
export class ClearScopeQuery {
  @ApiProperty({ enum: CLEAR_SCOPES, description: 'required: nothing is cleared by default' })
  @IsIn(CLEAR_SCOPES, scopeMessage(CLEAR_SCOPES))
  scope: ClearScope;
}

export class ListKeysQuery {
  @ApiPropertyOptional({ enum: CLEAR_SCOPES, default: 'all' }) @IsOptional() @IsIn(CLEAR_SCOPES, scopeMessage(CLEAR_SCOPES)) scope?: ClearScope;
  @ApiPropertyOptional({ pattern: CURSOR_PATTERN.source, description: 'cursor of the previous page; 0 or none to start' })
  @IsOptional()
  @ValidateBy({
    name: 'isScanCursor',
    validator: {
      validate: isScanCursor,
      defaultMessage: () => 'cursor must be a number from 0 to 18446744073709551615, or <master>-<number> on a Redis Cluster (the cursor of the previous page)',
    },
  })
  cursor?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE, default: 100 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(MAX_PAGE) count?: number;
}

export class PhoneParam {
  @ApiProperty({ pattern: PHONE_PATTERN.source, example: '13452552490' })
  @IsPhone()
  phone: string;
}

export class IdParam {
  @ApiProperty({ pattern: ID_PATTERN.source, example: '42' })
  @Matches(ID_PATTERN, { message: '$property must be 1-20 digits' })
  id: string;
}

export class IdScopeQuery {
  @ApiPropertyOptional({ enum: ID_SCOPES, default: 'all' })
  @IsOptional()
  @IsIn(ID_SCOPES, scopeMessage(ID_SCOPES))
  scope?: IdScope;
}

export class AuditQuery {
  @ApiPropertyOptional({ enum: CLEAR_SCOPES, default: 'all' })
  @IsOptional()
  @IsIn(CLEAR_SCOPES, scopeMessage(CLEAR_SCOPES))
  scope?: ClearScope;
  @ApiPropertyOptional({ enum: ['true', 'false'], default: 'false', description: 'delete each stale key that still holds the audited value (admins only)' })
  @IsOptional()
  @IsIn(['true', 'false'], { message: '$property must be true or false' })
  repair?: 'true' | 'false';
  @ApiPropertyOptional({ minimum: 0, maximum: MAX_AUDIT_LIMIT, default: 1000, description: 'stale entries to answer at most (the totals count all)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_AUDIT_LIMIT)
  limit?: number;
}

/** POST /admin/cache/audits. */
export class StartAuditDto {
  @ApiPropertyOptional({ enum: CLEAR_SCOPES, default: 'all' })
  @IsOptional()
  @IsIn(CLEAR_SCOPES, scopeMessage(CLEAR_SCOPES))
  scope?: ClearScope;
  @ApiPropertyOptional({ default: false, description: 'delete each stale key that still holds the audited value (admins only)' })
  @IsOptional()
  @IsBoolean()
  repair?: boolean;
}

export class AuditIdParam {
  @ApiProperty({ pattern: AUDIT_ID_PATTERN.source, example: '9f86d081884c7d65' })
  @Matches(AUDIT_ID_PATTERN, { message: '$property must be the 16 hexadecimal digits POST /admin/cache/audits answered' })
  id: string;
}

export class StalePageQuery {
  @ApiPropertyOptional({ minimum: 0, default: 0 }) @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(1e9) offset?: number;
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_STALE_PAGE, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_STALE_PAGE)
  limit?: number;
}

export class CacheHealthResponse implements CacheHealth {
  @ApiProperty() reachable: boolean;
  @ApiProperty() host: string;
  @ApiProperty() port: number;
  @ApiProperty() db: number;
  @ApiProperty({ type: Number, nullable: true }) roundTripMs: number | null;
  @ApiProperty({ type: String, nullable: true, description: 'Redis server version' }) version: string | null;
  @ApiPropertyOptional() error?: string;
}

export class ScopeCountsResponse implements ScopeCounts {
  @ApiProperty() appUsers: number;
  @ApiProperty() oaUsers: number;
  @ApiProperty() devices: number;
  @ApiProperty() total: number;
}

export class KeyPageResponse implements KeyPage {
  @ApiProperty({ enum: CLEAR_SCOPES }) scope: ClearScope;
  @ApiProperty({ type: [String] }) keys: string[];
  @ApiProperty({ description: "next cursor; '0' once the whole keyspace has been walked" }) cursor: string;
  @ApiProperty({ type: ScopeCountsResponse }) counts: ScopeCountsResponse;
}

export class BulkClearResponse implements BulkClearResult {
  @ApiProperty({ enum: CLEAR_SCOPES }) scope: ClearScope;
  @ApiProperty({ description: 'keys deleted' }) deleted: number;
  @ApiProperty() ms: number;
}

export class PhoneClearResponse {
  @ApiProperty() phone: string;
  @ApiProperty({ type: [String], description: 'the keys deleted (index and row keys, AppUser and OaUser)' }) deleted: string[];
}

export class IdClearResponse {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ID_SCOPES }) scope: string;
  @ApiProperty({ type: [String] }) deleted: string[];
}

export class CachedEntryResponse implements CachedEntry {
  @ApiProperty({ example: 'cache:appUsers:phone:13452552490' }) key: string;
  @ApiProperty({ type: String, nullable: true, description: "the raw value: a row's JSON, an id, or the placeholder '*'" }) value: string | null;
  @ApiProperty({ description: 'seconds to live; -1 none, -2 gone' }) ttl: number;
}

export class CachedLookupResponse implements CachedLookup {
  @ApiProperty({ description: 'the phone or id looked up' }) lookup: string;
  @ApiProperty({ type: [CachedEntryResponse], description: 'what the cache holds for it (what a clear would delete)' }) entries: CachedEntryResponse[];
}

export class StaleEntryResponse implements StaleEntry {
  @ApiProperty() key: string;
  @ApiProperty({ enum: STALE_REASONS }) reason: StaleReason;
  @ApiProperty() detail: string;
}

export class AuditReportResponse implements AuditReport {
  @ApiProperty() scope: string;
  @ApiProperty() repair: boolean;
  @ApiProperty({ description: 'cache keys examined' }) scanned: number;
  @ApiProperty({ description: 'keys of a layout the audit does not know (left alone)' }) unknown: number;
  @ApiProperty({ type: [StaleEntryResponse], description: 'the first `limit` stale entries found, sorted by key' }) stale: StaleEntryResponse[];
  @ApiProperty({ description: 'stale entries found in all' }) staleTotal: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'number' },
    example: { row_differs: 0, row_gone: 1, index_wrong_id: 0, placeholder_for_existing_row: 0 },
  })
  staleByReason: Record<StaleReason, number>;
  @ApiProperty({ description: 'stale keys deleted' }) repaired: number;
}

export class AuditJobResponse implements AuditJob {
  @ApiProperty({ example: '9f86d081884c7d65' }) id: string;
  @ApiProperty({ enum: CLEAR_SCOPES }) scope: string;
  @ApiProperty() repair: boolean;
  @ApiProperty({ enum: ['running', 'done', 'failed', 'interrupted'], description: 'interrupted: the process running it stopped' }) status: AuditJobStatus;
  @ApiProperty({ example: 'staff #1 13800000000 (admin)' }) startedBy: string;
  @ApiProperty({ format: 'date-time' }) startedAt: string;
  @ApiProperty({ format: 'date-time', description: 'the last progress written' }) updatedAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finishedAt: string | null;
  @ApiProperty({ description: 'share of the keyspace covered, 0 to 1' }) fraction: number;
  @ApiProperty({ description: 'cache keys examined so far' }) scanned: number;
  @ApiProperty({ description: 'keys of a layout the audit does not know (counted when done)' }) unknown: number;
  @ApiProperty({ description: 'stale entries found so far' }) staleTotal: number;
  @ApiProperty({ description: 'stale entries kept for paging: the first 10,000 found' }) staleKept: number;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'number' },
    example: { row_differs: 0, row_gone: 1, index_wrong_id: 0, placeholder_for_existing_row: 0 },
  })
  staleByReason: Record<StaleReason, number>;
  @ApiProperty({ description: 'stale keys deleted (repair)' }) repaired: number;
  @ApiProperty({ type: String, nullable: true }) error: string | null;
  @ApiPropertyOptional({ description: 'POST only: true when an audit was already running (one runs at a time), which is the one answered' })
  alreadyRunning?: boolean;
}

export class StalePageResponse implements StalePage {
  @ApiProperty() id: string;
  @ApiProperty({ description: 'stale entries kept so far (the first 10,000 found)' }) total: number;
  @ApiProperty() offset: number;
  @ApiProperty({ type: [StaleEntryResponse] }) items: StaleEntryResponse[];
}
