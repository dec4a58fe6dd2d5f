import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CdcModule } from '../cdc/cdc.module';
import { CdcHealthIndicator } from './cdc.health';
import { HealthController } from './health.controller';
import { RedisHealthIndicator } from './redis.health';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), CdcModule],
  controllers: [HealthController],
  providers: [RedisHealthIndicator, CdcHealthIndicator],
})
export class HealthModule {}
