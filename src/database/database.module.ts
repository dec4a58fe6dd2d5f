import { Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { dataSourceOptions } from './data-source-options';
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
})
export class DatabaseModule {}
