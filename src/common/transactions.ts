import { DataSource, EntityManager } from 'typeorm';

const RETRYABLE = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'ER_DUP_ENTRY']);

function code(err: unknown): string | undefined {
  const e = err as { code?: string; driverError?: { code?: string } };
  return e?.driverError?.code ?? e?.code;
}

/** A unique key already held by another row (mysql2's code, or TypeORM's wrapping of it). */
export function isDuplicateEntry(err: unknown): boolean {
  return code(err) === 'ER_DUP_ENTRY' || /Duplicate entry/.test(String((err as Error | undefined)?.message));
}

/** For `.catch()`: a duplicate key becomes the error `instead` makes, anything else propagates. */
export function onDuplicateEntry(instead: () => Error): (err: unknown) => never {
  return (err) => {
    throw isDuplicateEntry(err) ? instead() : err;
  };
}

/**
 * Runs `work` in a transaction and runs it again (up to `attempts` times) when it lost a race:
 * a deadlock, a lock wait timeout, or a duplicate key inserted by a concurrent transaction. Only
 * for work whose re-run re-reads everything it decides on, so that the second run sees the winner.
 */
export async function retryTransaction<T>(dataSource: DataSource, work: (manager: EntityManager) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await dataSource.transaction(work);
    } catch (err) {
      if (attempt >= attempts || !RETRYABLE.has(code(err) ?? '')) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
}
