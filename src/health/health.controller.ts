import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheckResult, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { ApiEnvelope, ApiErrors, ApiWithoutStores } from '../docs/api-envelope';
import { HealthCheckResponse, LivenessResponse } from '../docs/health.docs';
import { CdcHealthIndicator } from './cdc.health';
import { RedisHealthIndicator } from './redis.health';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly mysql: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly cdc: CdcHealthIndicator,
  ) {}

  /** Readiness: 200 when MySQL and Redis both answer, 503 naming the one that does not; also change capture's mode and lag. */
  @Get()
  @ApiOperation({
    operationId: 'getHealth',
    summary: 'readiness: 200 when MySQL and Redis answer, 503 naming the one that does not; change capture mode and lag',
  })
  @ApiEnvelope(HealthCheckResponse)
  @ApiErrors(ErrorCode.UNAVAILABLE)
  async ready() {
    try {
      return await this.health.check([
        () => this.mysql.pingCheck('mysql', { timeout: 1000 }),
        () => this.redis.isHealthy('redis'),
        () => this.cdc.check('cdc'),
      ]);
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      const result = err.getResponse() as HealthCheckResult;
      const down = Object.keys(result.error ?? {});
      throw new AppError(ErrorCode.UNAVAILABLE, `unavailable: ${down.join(', ')}`, result.details);
    }
  }

  /** Liveness: the process answers; touches neither MySQL nor Redis. */
  @Get('live')
  @ApiOperation({ operationId: 'getLiveness', summary: 'liveness: touches neither MySQL nor Redis' })
  @ApiEnvelope(LivenessResponse)
  @ApiWithoutStores()
  live() {
    return { status: 'ok' };
  }
}
