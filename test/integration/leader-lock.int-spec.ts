import { Connection, createConnection, RowDataPacket } from 'mysql2/promise';
import { LeaderLock } from '../../src/cdc/leader-lock';
import { TEST_DB, uniqueDatabaseName } from '../support/test-database';
import { eventually } from '../support/wait';

/**
 * The change capture leader lock against the real MariaDB: a lock connection that MySQL kills (an
 * operator's KILL, a restart) must not leave a process unable to stand for election again.
 */
describe('LeaderLock when MySQL kills its connection', () => {
  let admin: Connection;
  const locks: LeaderLock[] = [];
  const newLock = (name: string) => {
    const lock = new LeaderLock(name, TEST_DB);
    locks.push(lock);
    return lock;
  };

  beforeAll(async () => {
    admin = await createConnection(TEST_DB);
  });
  afterAll(async () => {
    for (const lock of locks) lock.abort();
    await admin.end();
  });

  /** The id of the connection running `sql` (matched by its start) on the lock's name. */
  async function connectionRunning(sql: string, name: string): Promise<number> {
    const found = await eventually(
      `a connection running ${sql}`,
      async () => {
        const [rows] = await admin.query<RowDataPacket[]>('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND INFO LIKE ?', [
          `${sql}%`,
          `%${name}%`,
        ]);
        return rows.map((row) => Number(row.id));
      },
      (ids) => ids.length === 1,
    );
    return found[0];
  }

  it('a standby whose wait is killed waits again on a new connection, and takes over when the leader lets go', async () => {
    const db = uniqueDatabaseName('hi_lock');
    const leader = newLock(db);
    const standby = newLock(db);
    expect(await leader.acquire(1)).toBe(true);

    // Handled from the start: it fails while the KILL is still being answered.
    const waiting = standby.acquire(30).then(
      (got) => got,
      (err: Error) => err,
    );
    await admin.query(`KILL ${await connectionRunning('SELECT GET_LOCK', db)}`);
    expect(await waiting).toBeInstanceOf(Error);

    // Not "Can't add new command when connection is in closed state", for ever.
    expect(await standby.acquire(0)).toBe(false);
    const next = standby.acquire(30);
    await connectionRunning('SELECT GET_LOCK', db);
    await leader.release();
    expect(await next).toBe(true);
    expect(await standby.held()).toBe(true);
  });

  it('a leader whose connection is killed sees it has lost the lock, and can win it again', async () => {
    const db = uniqueDatabaseName('hi_lock');
    const lock = newLock(db);
    expect(await lock.acquire(1)).toBe(true);
    const [rows] = await admin.query<RowDataPacket[]>('SELECT IS_USED_LOCK(?) AS id', [`hi-server:cdc:${db}`]);
    await admin.query(`KILL ${Number(rows[0].id)}`);
    // False, or a failed query, depending on whether mysql2 saw the connection close first.
    await eventually(
      'the lock seen lost',
      () => lock.held().catch(() => false),
      (held) => !held,
    );
    expect(await lock.held()).toBe(false);
    expect(await lock.acquire(1)).toBe(true);
    expect(await lock.held()).toBe(true);
  });
});
