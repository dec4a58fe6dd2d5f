import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { Backlog, EntityCacheFigures } from './coherence.service';
import type { RecentSessionEnd } from './recent-session-ends';

export class BacklogResponse implements Backlog {
  @ApiProperty({ description: 'rows waiting, counted up to 100,001 (more than 100,000 reads as 100,001)' }) pending: number;
  @ApiProperty({ type: Number, nullable: true, description: 'age of the oldest waiting row, seconds' }) oldestAgeSeconds: number | null;
}

export class OutboxResponse {
  @ApiPropertyOptional({ type: BacklogResponse, description: 'cache invalidations not yet delivered to Redis (cache_invalidations)' })
  invalidations?: BacklogResponse;
  @ApiPropertyOptional({ type: BacklogResponse, description: 'session endings not yet applied in Redis (session_endings)' })
  sessionEndings?: BacklogResponse;
  @ApiPropertyOptional({ description: 'set instead of the figures when MySQL did not answer' }) unavailable?: string;
}

export class CdcReportResponse {
  @ApiProperty({ enum: ['off', 'binlog'] }) mode: string;
  @ApiProperty({ enum: ['off', 'standby', 'leader'], description: "this process's role; one process of the deployment leads" }) role: string;
  @ApiProperty() connected: boolean;
  @ApiProperty({ type: Number, nullable: true, description: 'seconds the cache may trail MySQL (leader only)' }) lagSeconds: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'binlog bytes not yet applied (leader only)' }) bytesBehind: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'seconds since the leader last saved its checkpoint (any process)' })
  checkpointSavedAgoSeconds: number | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) lastEventAt: string | null;
  @ApiProperty() reconnects: number;
  @ApiProperty() invalidatedKeys: number;
  @ApiProperty({ type: String, nullable: true }) lastError: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: 'binlog position applied: {file, position, gtid}' }) applied:
    object | null;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true }) checkpoint: object | null;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: "the server's binlog end: {file, position}" }) server: object | null;
}

export class EntityCacheResponse implements EntityCacheFigures {
  @ApiProperty({ example: 'appUsers' }) entity: string;
  @ApiProperty() hits: number;
  @ApiProperty() misses: number;
  @ApiProperty({ type: Number, nullable: true, description: 'hits / (hits + misses)' }) hitRatio: number | null;
  @ApiProperty() invalidatedKeys: number;
  @ApiProperty({ description: 'keys whose invalidation Redis refused (the outbox retries)' }) failedInvalidations: number;
}

export class RecentSessionEndResponse implements RecentSessionEnd {
  @ApiProperty({ format: 'date-time' }) at: string;
  @ApiProperty({ example: 'logout' }) reason: string;
  @ApiProperty({ description: 'first 12 characters of the session id' }) sessionId: string;
  @ApiProperty() identifier: string;
  @ApiProperty() userId: number;
  @ApiProperty({ description: 'who or what ended it', example: 'staff #1 13800000000 (admin)' }) by: string;
}

export class CoherenceResponse {
  @ApiProperty({ format: 'date-time' }) at: string;
  @ApiProperty({ type: 'object', properties: { pid: { type: 'number' }, uptimeSeconds: { type: 'number' } } }) process: { pid: number; uptimeSeconds: number };
  @ApiProperty({ type: CdcReportResponse }) cdc: CdcReportResponse;
  @ApiProperty({ type: OutboxResponse }) outbox: OutboxResponse;
  @ApiProperty({ type: [EntityCacheResponse], description: "this process's cache reads and invalidations per entity" }) cache: EntityCacheResponse[];
  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' }, description: 'sessions this process ended, by reason' })
  sessionsEnded: Record<string, number>;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' }, description: "this process's sockets sent `kicked`, by reason" })
  socketsKicked: Record<string, number>;
  @ApiProperty({
    oneOf: [
      { type: 'array', items: { $ref: '#/components/schemas/RecentSessionEndResponse' } },
      { type: 'object', properties: { unavailable: { type: 'string' } } },
    ],
    description: 'the latest 20 session ends of every process, newest first; `{unavailable}` when Redis did not answer',
  })
  recentSessionEnds: RecentSessionEndResponse[] | { unavailable: string };
}
