import Redis from 'ioredis';
import { randomBytes } from 'crypto';

const HOST = process.env.TEST_REDIS_HOST ?? '127.0.0.1';
const PORT = Number(process.env.TEST_REDIS_PORT ?? 6379);
/** Test claims live in the last database; tests use databases 1-14 and never touch db 0. */
const LOCK_DB = 15;
const FIRST = 1;
const LAST = 14;

export interface ClaimedRedisDb {
  host: string;
  port: number;
  db: number;
  release(): Promise<void>;
}

/**
 * Claims a Redis database of the machine's Redis for one test file, so that test files running
 * in parallel (and other checkouts' test runs) never share keys. A claim lapses after 30 minutes
 * in case a run dies without releasing it.
 */
export async function claimRedisDb(): Promise<ClaimedRedisDb> {
  const locks = new Redis({ host: HOST, port: PORT, db: LOCK_DB, lazyConnect: true });
  await locks.connect();
  const token = randomBytes(8).toString('hex');
  try {
    for (let attempt = 0; attempt < 600; attempt += 1) {
      for (let db = FIRST; db <= LAST; db += 1) {
        if ((await locks.set(`hi-test:redis-db:${db}`, token, 'EX', 1800, 'NX')) !== 'OK') continue;
        const client = new Redis({ host: HOST, port: PORT, db, lazyConnect: true });
        await client.connect();
        await client.flushdb();
        await client.quit();
        return {
          host: HOST,
          port: PORT,
          db,
          release: async () => {
            const cleaner = new Redis({ host: HOST, port: PORT, db, lazyConnect: true });
            await cleaner.connect();
            await cleaner.flushdb();
            await cleaner.quit();
            const relock = new Redis({ host: HOST, port: PORT, db: LOCK_DB, lazyConnect: true });
            await relock.connect();
            if ((await relock.get(`hi-test:redis-db:${db}`)) === token) await relock.del(`hi-test:redis-db:${db}`);
            await relock.quit();
          },
        };
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error('no free Redis test database (1-14) within 5 minutes');
  } finally {
    await locks.quit();
  }
}
