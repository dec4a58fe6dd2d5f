import { createHash } from 'crypto';
import { Connection, ConnectionOptions, createConnection, RowDataPacket } from 'mysql2/promise';

/** Builds the lock of one database's change capture (injected, so a unit spec can replace it). */
export const LEADER_LOCK = Symbol('LEADER_LOCK');

/**
 * One active change capture among several processes: a MySQL named lock held on a connection of
 * its own. The server frees it the moment that connection ends, so a crashed or partitioned leader
 * loses it without any lease to expire; a standby blocked in GET_LOCK gets it that same moment.
 */
export class LeaderLock {
  private conn?: Connection;
  private aborted = false;
  readonly name: string;

  constructor(
    dbName: string,
    private readonly options: ConnectionOptions,
  ) {
    const name = `hi-server:cdc:${dbName}`;
    this.name = name.length <= 64 ? name : `hi-server:cdc:${createHash('sha1').update(dbName).digest('hex')}`;
  }

  /** Waits up to `waitSeconds` for the lock; true once this process holds it. */
  async acquire(waitSeconds: number): Promise<boolean> {
    const conn = await this.connection();
    const [rows] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [this.name, waitSeconds]).catch((err) => this.drop(conn, err));
    return Number(rows[0].got) === 1;
  }

  /** Whether this process still holds the lock (false once its connection is gone). */
  async held(): Promise<boolean> {
    const conn = this.conn;
    if (!conn) return false;
    const [rows] = await conn.query<RowDataPacket[]>('SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine', [this.name]).catch((err) => this.drop(conn, err));
    return Number(rows[0].mine) === 1;
  }

  async release(): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    if (!conn) return;
    await conn.query('SELECT RELEASE_LOCK(?)', [this.name]).catch(() => undefined);
    await conn.end().catch(() => conn.destroy());
  }

  /** For good: drops the connection at once (a waiting acquire fails) and refuses new ones. */
  abort(): void {
    this.aborted = true;
    this.conn?.destroy();
    this.conn = undefined;
  }

  /**
   * A query failed: the connection is no use any more (killed, MySQL restarted). mysql2 gives that
   * error to the pending query rather than to the connection's 'error' event, so it is dropped
   * here, or every later try would fail on the closed connection for good and a standby would
   * never take over. The next acquire opens a new one.
   */
  private drop(conn: Connection, err: unknown): never {
    if (this.conn === conn) this.conn = undefined;
    conn.destroy();
    throw err;
  }

  private async connection(): Promise<Connection> {
    if (this.conn) return this.conn;
    const conn = await createConnection(this.options);
    if (this.aborted) {
      conn.destroy();
      throw new Error('leader lock closed');
    }
    conn.on('error', () => {
      if (this.conn === conn) this.conn = undefined;
    });
    this.conn = conn;
    return conn;
  }
}
