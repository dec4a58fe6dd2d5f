import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Connection, createConnection, RowDataPacket } from 'mysql2/promise';
import { AppConfig } from '../config/app-config';
import { cdcConnectionOptions } from './cdc-connection';
import { BinlogPosition, ServerPosition } from './binlog-position';

/** A row a captured transaction wrote; once its new version is visible, all of the transaction is. */
export interface Probe {
  table: string;
  id: number;
}

const LOCK_WAIT_TIMEOUT = 'ER_LOCK_WAIT_TIMEOUT';

/**
 * What change capture asks the MySQL server it reads, on a connection of its own with the
 * replication account: where the binlog ends, how far behind capture is, and whether a
 * transaction that reached the binlog is visible to readers yet.
 */
@Injectable()
export class BinlogServer implements OnApplicationShutdown {
  private conn?: Promise<Connection>;

  constructor(private readonly config: AppConfig) {}

  /** The end of the binlog with the GTID position where the server keeps one: where capture starts without a checkpoint. */
  async currentEnd(): Promise<BinlogPosition> {
    const end = await this.end();
    const [{ version }] = await this.query('SELECT VERSION() AS version');
    let gtid: string | null;
    if (/mariadb/i.test(version)) {
      [{ gtid }] = await this.query('SELECT @@GLOBAL.gtid_binlog_pos AS gtid');
    } else {
      const [row] = await this.query('SELECT @@GLOBAL.gtid_mode AS mode, @@GLOBAL.gtid_executed AS gtid');
      gtid = row.mode === 'ON' ? row.gtid : null;
    }
    return { ...end, gtid: gtid ? String(gtid).replace(/\s+/g, '') : null };
  }

  async end(): Promise<ServerPosition> {
    // MySQL 8.4 renamed SHOW MASTER STATUS; MariaDB knows only the old name.
    const rows = await this.query('SHOW MASTER STATUS').catch(() => this.query('SHOW BINARY LOG STATUS'));
    if (rows.length === 0) throw new Error('the server has no binary log: start it with log_bin and binlog_format=ROW, or set CDC_MODE=off');
    return { file: rows[0].File, position: Number(rows[0].Position) };
  }

  /** Binlog bytes between `applied` and `end`. */
  async bytesBehind(applied: ServerPosition, end: ServerPosition): Promise<number> {
    if (applied.file === end.file) return Math.max(0, end.position - applied.position);
    let bytes = 0;
    for (const log of await this.query('SHOW BINARY LOGS')) {
      if (log.Log_name < applied.file || log.Log_name > end.file) continue;
      const size = log.Log_name === end.file ? end.position : Number(log.File_size);
      bytes += log.Log_name === applied.file ? Math.max(0, size - applied.position) : size;
    }
    return bytes;
  }

  /**
   * Resolves once the transaction that wrote `probe` is visible to readers. The server sends a
   * transaction to replicas when it is in the binlog, a moment before the storage engine commits
   * it: a reader in that moment still reads the old row, and could cache it after the
   * invalidation. The writer holds the row's lock until it commits, so a locking read waits
   * exactly that long. A lock held past a second belongs to a later transaction, so ours committed.
   */
  async waitVisible(probe: Probe): Promise<void> {
    await this.query(`SELECT 1 FROM \`${probe.table}\` WHERE id = ? LOCK IN SHARE MODE`, [probe.id]).catch((err: { code?: string }) => {
      if (err.code !== LOCK_WAIT_TIMEOUT) throw err;
    });
  }

  async onApplicationShutdown(): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    await conn?.then(
      (c) => c.end().catch(() => c.destroy()),
      () => undefined,
    );
  }

  private async query(sql: string, params: unknown[] = []): Promise<RowDataPacket[]> {
    try {
      const [rows] = await (await this.connection()).query<RowDataPacket[]>(sql, params);
      return rows;
    } catch (err) {
      if ((err as { fatal?: boolean }).fatal) this.conn = undefined;
      throw err;
    }
  }

  private connection(): Promise<Connection> {
    this.conn ??= (async () => {
      const conn = await createConnection(cdcConnectionOptions(this.config));
      conn.on('error', () => (this.conn = undefined));
      await conn.query('SET SESSION innodb_lock_wait_timeout = 1');
      return conn;
    })().catch((err) => {
      this.conn = undefined;
      throw err;
    });
    return this.conn;
  }
}
