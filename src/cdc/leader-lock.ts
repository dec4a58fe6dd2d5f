import { createHash } from 'crypto';
import { Connection, ConnectionOptions, createConnection, RowDataPacket } from 'mysql2/promise';

/**
 * One active listener among several processes: a MySQL named lock held on a connection of its own.
 * The server frees it the moment that connection ends, so a crashed or partitioned leader loses it
 * without any lease to expire, and a standby takes it on its next try. The same connection serves
 * the heartbeat queries, so a leader that cannot reach the server notices it lost the lock.
 */
export class LeaderLock {
  private conn?: Connection;
  readonly name: string;

  constructor(
    dbName: string,
    private readonly options: ConnectionOptions,
  ) {
    const name = `hi-server:cdc:${dbName}`;
    this.name = name.length <= 64 ? name : `hi-server:cdc:${createHash('sha1').update(dbName).digest('hex')}`;
  }

  async tryAcquire(): Promise<boolean> {
    const conn = await this.connection();
    const [rows] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, 0) AS got', [this.name]);
    return Number(rows[0].got) === 1;
  }

  async held(): Promise<boolean> {
    if (!this.conn) return false;
    const [rows] = await this.conn.query<RowDataPacket[]>('SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine', [this.name]);
    return Number(rows[0].mine) === 1;
  }

  async query<T extends RowDataPacket[]>(sql: string): Promise<T> {
    const [rows] = await (await this.connection()).query<T>(sql);
    return rows;
  }

  async release(): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    if (!conn) return;
    await conn.query('SELECT RELEASE_LOCK(?)', [this.name]).catch(() => undefined);
    await conn.end().catch(() => conn.destroy());
  }

  private async connection(): Promise<Connection> {
    if (this.conn) return this.conn;
    const conn = await createConnection({ ...this.options, connectTimeout: 5000 });
    conn.on('error', () => {
      if (this.conn === conn) this.conn = undefined;
    });
    this.conn = conn;
    return conn;
  }
}
