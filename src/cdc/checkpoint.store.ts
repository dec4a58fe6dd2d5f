import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BinlogPosition } from './binlog-position';

const NAME = 'binlog';

/** The `cdc_checkpoints` row of this database: where the listener resumes after a restart. */
@Injectable()
export class CheckpointStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async load(): Promise<BinlogPosition | null> {
    const rows: Array<{ binlog_file: string; binlog_position: string | number; gtid: string | null }> = await this.dataSource.query(
      'SELECT binlog_file, binlog_position, gtid FROM cdc_checkpoints WHERE name = ?',
      [NAME],
    );
    if (rows.length === 0) return null;
    return { file: rows[0].binlog_file, position: Number(rows[0].binlog_position), gtid: rows[0].gtid || null };
  }

  async save(p: BinlogPosition): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO cdc_checkpoints (name, binlog_file, binlog_position, gtid) VALUES (?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE binlog_file = VALUES(binlog_file), binlog_position = VALUES(binlog_position), gtid = VALUES(gtid)`,
      [NAME, p.file, p.position, p.gtid],
    );
  }

  async clear(): Promise<void> {
    await this.dataSource.query('DELETE FROM cdc_checkpoints WHERE name = ?', [NAME]);
  }
}
