import { Global, Module } from '@nestjs/common';
import { CacheAsideService } from './cache-aside.service';
import { CacheEventBus } from './cache-events';
import { CacheGate } from './cache-gate';
import { CacheInvalidationSubscriber } from './cache-invalidation.subscriber';
import { CacheInvalidator } from './cache-invalidator.service';
import { CacheStats } from './cache-stats';
import { InvalidationOutbox } from './invalidation-outbox.service';

@Global()
@Module({
  providers: [CacheAsideService, CacheEventBus, CacheGate, CacheInvalidator, CacheStats, InvalidationOutbox, CacheInvalidationSubscriber],
  exports: [CacheAsideService, CacheGate, CacheInvalidator, CacheStats, InvalidationOutbox, CacheInvalidationSubscriber],
})
export class CacheModule {}
