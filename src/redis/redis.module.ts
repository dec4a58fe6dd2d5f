import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { RedisClient } from './redis-client';
import { AppConfig } from '../config/app-config';
import { REDIS_CLIENT } from './redis.constants';
import { RedisConnectionWatch } from './redis-connection.watch';
import { closeRedis, connectRedis, describeRedis } from './redis.factory';

@Global()
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [AppConfig],
      useFactory: async (config: AppConfig) => {
        try {
          return await connectRedis(config);
        } catch (err) {
          throw new Error(
            `Redis at ${describeRedis(config)} (${config.REDIS_CLUSTER_NODES ? 'REDIS_CLUSTER_NODES' : 'REDIS_HOST/REDIS_PORT'}): ${(err as Error).message}`,
            { cause: err },
          );
        }
      },
    },
    RedisConnectionWatch,
  ],
  exports: [REDIS_CLIENT],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  onApplicationShutdown(): Promise<void> {
    return closeRedis(this.redis);
  }
}
