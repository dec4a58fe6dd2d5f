import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import type Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { REDIS_CLIENT } from './redis.constants';
import { connectRedis } from './redis.factory';

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
          throw new Error(`Redis at ${config.REDIS_HOST}:${config.REDIS_PORT} (REDIS_HOST/REDIS_PORT): ${(err as Error).message}`);
        }
      },
    },
  ],
  exports: [REDIS_CLIENT],
})
export class RedisModule implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisModule.name);

  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.redis.status !== 'ready') return this.redis.disconnect();
    await this.redis.quit().catch((err) => {
      this.logger.warn(`redis quit: ${(err as Error).message}`);
      this.redis.disconnect();
    });
  }
}
