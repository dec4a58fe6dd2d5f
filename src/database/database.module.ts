import { Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { createConnection } from 'mysql2/promise';
import { AppConfig } from '../config/app-config';
import { dataSourceOptions, describeMysql } from './data-source-options';
import { MysqlConnectionWatch } from './mysql-connection.watch';
import { prepareDatabase } from './prepare-database';

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: async (config: AppConfig) => {
        const logger = new Logger('Database');
        try {
          await prepareDatabase(config, (line) => logger.log(line));
        } catch (err) {
          throw new Error(`MySQL at ${config.DB_HOST}:${config.DB_PORT} (DB_HOST/DB_PORT/DB_USER/DB_NAME): ${(err as Error).message}`, { cause: err });
        }
        return { ...dataSourceOptions(config), retryAttempts: 0 };
      },
    }),
  ],
  providers: [
    {
      provide: MysqlConnectionWatch,
      inject: [AppConfig],
      useFactory: (config: AppConfig) =>
        new MysqlConnectionWatch(describeMysql(config), () =>
          createConnection({
            host: config.DB_HOST,
            port: config.DB_PORT,
            user: config.DB_USER,
            password: config.DB_PASSWORD,
            database: config.DB_NAME,
            connectTimeout: 2000,
          }),
        ),
    },
  ],
})
export class DatabaseModule {}
