import { Module } from '@nestjs/common';
import { SessionModule } from '../session/session.module';
import { CdcModule } from '../cdc/cdc.module';
import { OaUserModule } from '../oa-user/oa-user.module';
import { CoherenceController } from './coherence.controller';
import { CoherenceService } from './coherence.service';
import { RecentSessionEnds } from './recent-session-ends';
import { CacheMetrics } from './cache.metrics';
import { CdcMetrics } from './cdc.metrics';
import { DeviceSocketMetrics } from './device-socket.metrics';
import { HttpMetrics } from './http.metrics';
import { MetricsController } from './metrics.controller';
import { MetricsRegistry } from './metrics.registry';
import { RedisMetrics } from './redis.metrics';
import { SessionMetrics } from './session.metrics';

@Module({
  imports: [SessionModule, CdcModule, OaUserModule],
  controllers: [MetricsController, CoherenceController],
  providers: [
    { provide: MetricsRegistry, useFactory: () => MetricsRegistry.create() },
    HttpMetrics,
    CacheMetrics,
    SessionMetrics,
    DeviceSocketMetrics,
    CdcMetrics,
    RedisMetrics,
    RecentSessionEnds,
    CoherenceService,
  ],
})
export class MetricsModule {}
