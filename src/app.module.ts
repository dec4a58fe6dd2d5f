import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ThrottlerModule } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { isCluster, RedisClient } from './redis/redis-client';
import { AdminModule } from './admin/admin.module';
import { AdminUiModule } from './admin-ui/admin-ui.module';
import { AppUserModule } from './app-user/app-user.module';
import { AuthModule } from './auth/auth.module';
import { BootstrapService } from './bootstrap.service';
import { CacheModule } from './cache/cache.module';
import { CdcModule } from './cdc/cdc.module';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { APP_LOGGER, AppLogger } from './common/logging';
import { createValidationPipe } from './common/validation.pipe';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { DeviceManagerModule } from './device/device-manager.module';
import { DeviceModule } from './device/device.module';
import { EmailModule } from './email/email.module';
import { PasswordModule } from './password/password.module';
import { HealthModule } from './health/health.module';
import { InviteModule } from './invite/invite.module';
import { MetricsModule } from './metrics/metrics.module';
import { OaUserModule } from './oa-user/oa-user.module';
import { REDIS_CLIENT } from './redis/redis.constants';
import { RedisModule } from './redis/redis.module';

@Module({})
export class AppModule {
  /** The process's configuration and its one logger (app.factory.ts makes both). */
  static forRoot(config: AppConfig, logger: AppLogger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        EventEmitterModule.forRoot(),
        RedisModule,
        DatabaseModule,
        CacheModule,
        ThrottlerModule.forRootAsync({
          inject: [AppConfig, REDIS_CLIENT],
          useFactory: (cfg: AppConfig, redis: RedisClient) => ({
            // 'default': the answer carries the standard Retry-After (a named throttler suffixes it).
            throttlers: [{ name: 'default', ttl: 60_000, limit: cfg.AUTH_RATE_LIMIT_PER_MINUTE }],
            storage: isCluster(redis) ? new ThrottlerStorageRedisService(redis) : new ThrottlerStorageRedisService(redis),
            skipIf: () => cfg.AUTH_RATE_LIMIT_PER_MINUTE === 0,
            // One budget per client address across every rate-limited route, not one per route.
            generateKey: (_context, tracker, name) => `auth-rate:${name}:${tracker}`,
          }),
        }),
        OaUserModule,
        DeviceModule,
        AppUserModule,
        InviteModule,
        AuthModule,
        DeviceManagerModule,
        EmailModule,
        PasswordModule,
        CdcModule,
        HealthModule,
        AdminModule,
        MetricsModule,
        AdminUiModule,
      ],
      providers: [
        BootstrapService,
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_LOGGER, useValue: logger },
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    };
  }
}
