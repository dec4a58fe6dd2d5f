import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** The shape of @nestjs/terminus's HealthCheckResult, for the docs of GET /health. */
export class HealthCheckResponse {
  @ApiProperty({ enum: ['ok', 'error', 'shutting_down'] }) status: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { mysql: { status: 'up' }, redis: { status: 'up' }, cdc: { status: 'up', mode: 'off' } },
  })
  details: Record<string, unknown>;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) info?: Record<string, unknown>;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) error?: Record<string, unknown>;
}

export class LivenessResponse {
  @ApiProperty({ example: 'ok' }) status: string;
}
