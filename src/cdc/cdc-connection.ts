import type { ConnectionOptions } from 'mysql2/promise';
import { AppConfig } from '../config/app-config';

/** The replication account of change capture (CDC_USER, else the service's own account). */
export function cdcConnectionOptions(config: AppConfig): ConnectionOptions {
  return {
    host: config.DB_HOST,
    port: config.DB_PORT,
    user: config.CDC_USER ?? config.DB_USER,
    password: config.CDC_USER ? (config.CDC_PASSWORD ?? '') : config.DB_PASSWORD,
    database: config.DB_NAME,
    connectTimeout: 5000,
  };
}
