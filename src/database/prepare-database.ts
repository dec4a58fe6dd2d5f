import { createConnection } from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { dataSourceOptions } from './data-source-options';

/**
 * Creates DB_NAME if it is missing and runs pending migrations. Several processes may start at
 * once, so migrations run under a MySQL named lock and each process sees the others' work.
 */
export async function prepareDatabase(config: AppConfig, log: (line: string) => void = () => undefined): Promise<void> {
  const admin = await createConnection({
    host: config.DB_HOST,
    port: config.DB_PORT,
    user: config.DB_USER,
    password: config.DB_PASSWORD,
  });
  try {
    await admin.query(`CREATE DATABASE IF NOT EXISTS \`${config.DB_NAME}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await admin.end();
  }

  const dataSource = new DataSource(dataSourceOptions(config));
  await dataSource.initialize();
  const runner = dataSource.createQueryRunner();
  try {
    const [{ locked }] = await runner.query(`SELECT GET_LOCK('hi-server:migrations', 60) AS locked`);
    if (Number(locked) !== 1) throw new Error('timed out waiting for the migration lock held by another process');
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    for (const migration of applied) log(`migration applied: ${migration.name}`);
  } finally {
    await runner.query(`SELECT RELEASE_LOCK('hi-server:migrations')`).catch(() => undefined);
    await runner.release();
    await dataSource.destroy();
  }
}
