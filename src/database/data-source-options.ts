import { join } from 'path';
import { DataSourceOptions } from 'typeorm';
import { AppUser } from '../app-user/app-user.entity';
import { Device } from '../device/device.entity';
import { OaUser } from '../oa-user/oa-user.entity';
import { AppConfig } from '../config/app-config';
import { CacheInvalidation } from '../cache/cache-invalidation.entity';

export const ENTITIES = [AppUser, OaUser, Device, CacheInvalidation];

export function dataSourceOptions(config: AppConfig): DataSourceOptions {
  return {
    type: 'mysql',
    host: config.DB_HOST,
    port: config.DB_PORT,
    username: config.DB_USER,
    password: config.DB_PASSWORD,
    database: config.DB_NAME,
    charset: 'utf8mb4_unicode_ci',
    timezone: 'Z',
    entities: ENTITIES,
    migrations: [join(__dirname, 'migrations', '*.{ts,js}')],
    migrationsTableName: 'migrations',
    synchronize: false,
    extra: { connectionLimit: config.DB_POOL_SIZE },
  };
}

/** Where the service's MySQL is, for messages: `127.0.0.1:3306/hi` (never the password). */
export function describeMysql(config: Pick<AppConfig, 'DB_HOST' | 'DB_PORT' | 'DB_NAME'>): string {
  return `${config.DB_HOST}:${config.DB_PORT}/${config.DB_NAME}`;
}
