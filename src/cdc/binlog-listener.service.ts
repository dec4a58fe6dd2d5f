import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { RowDataPacket } from 'mysql2/promise';
import { AppConfig } from '../config/app-config';
import { SessionEnding } from '../session/session-ending.policy';
import { cachedTablesNamedBy, CACHED_TABLES, keysOfRows, sessionEndingsOfRows } from './binlog-changes';
import { BinlogPosition, describePosition } from './binlog-position';
import { CdcStatus } from './cdc-status';
import { ChangeApplier } from './change-applier';
import { CheckpointStore } from './checkpoint.store';
import { LeaderLock } from './leader-lock';
import { StreamWatch } from './stream-watch';
import { BinlogEvent, loadZongJi, QueryEvent, RowsEvent, ZongJi } from './zongji.loader';

const EVENTS = [
  'tablemap', 'writerows', 'updaterows', 'deleterows', 'query', 'xid', 'rotate',
  'mariadbgtid', 'gtid', 'heartbeat', 'binlogcheckpoint', 'mariadbgtidlist', 'previousgtids',
];
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** Server errors meaning the checkpoint's binlog is gone (purged, or from another server). */
const POSITION_LOST = /\b(1236|1945|1955)\b|Could not find first log|purged|binlog (?:file|position)/i;

/**
 * CDC_MODE=binlog: reads the binary log as a replica would and invalidates the keys of every row
 * of app_users, oa_users and devices changed by anyone, hand-written SQL included. One process at
 * a time holds the leader lock and listens; the others stand by and take over if it goes away.
 * It resumes from the checkpoint after a restart or a reconnect, so no committed change is missed.
 */
@Injectable()
export class BinlogListener implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('ChangeCapture');
  private readonly lock: LeaderLock;
  private readonly watch: StreamWatch;
  private zongji?: ZongJi;
  private timer?: NodeJS.Timeout;
  private busy: Promise<void> = Promise.resolve();
  private backoffMs = BACKOFF_FIRST_MS;
  private reconnectTimer?: NodeJS.Timeout;
  private inTransaction = false;
  private endings: SessionEnding[] = [];
  private ticks = 0;
  private shuttingDown = false;

  constructor(
    private readonly config: AppConfig,
    private readonly applier: ChangeApplier,
    private readonly checkpoints: CheckpointStore,
    private readonly status: CdcStatus,
  ) {
    this.lock = new LeaderLock(config.DB_NAME, { host: config.DB_HOST, port: config.DB_PORT, ...this.account() });
    this.watch = new StreamWatch(2 * config.CDC_HEARTBEAT_SECONDS * 1000);
    this.applier.onStall = () => this.pause();
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.CDC_MODE === 'off') {
      this.logger.log('CDC_MODE=off: changes made outside the service (hand-written SQL) are left to the operator tools (npm run cache, /admin/cache)');
      return;
    }
    this.logger.log(`CDC_MODE=binlog: tailing the binary log of ${this.config.DB_HOST}:${this.config.DB_PORT} for ${this.config.DB_NAME}.{${CACHED_TABLES.join(',')}}`);
    await this.serially(() => this.tick());
    this.timer = setInterval(() => void this.serially(() => this.tick()), this.config.CDC_HEARTBEAT_SECONDS * 1000);
    this.timer.unref();
  }

  /**
   * Before the HTTP server and the Socket.IO adapter close: a change applied after that would
   * end sessions and kick sockets through an adapter whose Redis clients are gone.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.config.CDC_MODE === 'off') return;
    this.shuttingDown = true;
    clearInterval(this.timer);
    clearTimeout(this.reconnectTimer);
    this.stopStream();
    // Before waiting for the serial work: a stream waiting for Redis to come back is released here.
    await this.applier.stop(this.status.role === 'leader');
    await this.serially(async () => {
      this.stopStream();
      await this.lock.release();
      this.status.role = 'standby';
    });
  }

  /** Test hook: resolves when everything read so far is invalidated and checkpointed. */
  idle(): Promise<void> {
    return this.applier.idle();
  }

  private serially(work: () => Promise<void>): Promise<void> {
    this.busy = this.busy.then(work).catch((err: Error) => {
      this.status.lastError = err.message;
      this.logger.error(`change capture: ${err.message}`);
    });
    return this.busy;
  }

  /** Heartbeat: take the lock if free, check the leader still holds it, detect a silent stream, measure lag. */
  private async tick(): Promise<void> {
    if (this.shuttingDown) return;
    this.ticks += 1;
    if (this.status.role !== 'leader') {
      if (!(await this.lock.tryAcquire().catch(() => false))) return;
      this.status.role = 'leader';
      this.logger.log(`this process is the change capture leader (lock ${this.lock.name})`);
      await this.startStream();
      return;
    }
    if (!(await this.lock.held().catch(() => false))) {
      this.logger.warn('lost the change capture leader lock (connection to MySQL lost?): standing by');
      this.stopStream();
      await this.applier.stop(false);
      await this.lock.release();
      this.status.role = 'standby';
      return;
    }
    if (!this.zongji && !this.reconnectTimer) await this.startStream();
    await this.measureLag();
    if (this.zongji && this.watch.silent(this.status.received, this.status.server, Date.now())) {
      const silentMs = Date.now() - (this.status.lastEventAt ?? 0);
      this.logger.warn(`the binlog stream has been silent for ${Math.round(silentMs / 1000)} s while the server moved on: reconnecting`);
      this.reconnect();
    }
    const lag = this.status.lagSeconds();
    if ((lag ?? 0) > this.config.CDC_HEARTBEAT_SECONDS || this.ticks % 12 === 0) {
      this.logger.log(`change capture: lag ${lag ?? '?'} s, ${this.status.bytesBehind ?? '?'} byte(s) behind, applied ${describePosition(this.status.applied)}`);
    }
  }

  private async startStream(): Promise<void> {
    if (this.zongji || this.shuttingDown || this.status.role !== 'leader') return;
    await this.applier.idle();
    if (this.zongji || this.shuttingDown) return;
    this.applier.start();
    let from = this.status.applied ?? (await this.checkpoints.load());
    if (!from) {
      from = await this.currentEnd();
      await this.checkpoints.save(from);
      this.logger.log(`no checkpoint: starting at the current end of the binlog, ${describePosition(from)}`);
    } else {
      this.logger.log(`resuming from ${describePosition(from)}`);
    }
    this.status.applied ??= from;
    this.status.checkpoint ??= from;
    this.status.received = from;
    this.watch.reset();
    this.inTransaction = false;
    this.endings = [];

    const ZongJiClass = loadZongJi();
    const zongji = new ZongJiClass({ host: this.config.DB_HOST, port: this.config.DB_PORT, ...this.account() });
    this.zongji = zongji;
    zongji.on('binlog', (event: BinlogEvent) => this.onEvent(zongji, event));
    zongji.on('error', (err: Error) => this.onStreamError(zongji, err));
    await new Promise<void>((resolve) => {
      const done = setTimeout(resolve, 10_000);
      zongji.once('ready', () => {
        clearTimeout(done);
        this.status.connected = true;
        this.status.lastEventAt = Date.now();
        this.backoffMs = BACKOFF_FIRST_MS;
        resolve();
      });
      zongji.once('error', () => {
        clearTimeout(done);
        resolve();
      });
      zongji.start({
        serverId: this.config.CDC_SERVER_ID,
        includeEvents: EVENTS,
        includeSchema: { [this.config.DB_NAME]: CACHED_TABLES },
        ...(from.gtid ? { gtidSet: from.gtid } : { filename: from.file, position: from.position }),
      });
    });
  }

  private onEvent(zongji: ZongJi, event: BinlogEvent): void {
    if (zongji !== this.zongji) return;
    this.status.lastEventAt = Date.now();
    const position: BinlogPosition = { file: zongji.options.filename!, position: zongji.options.position!, gtid: zongji.gtidSet || null };
    this.status.received = position;
    switch (event.getEventName()) {
      case 'writerows':
      case 'updaterows':
      case 'deleterows': {
        const rowsEvent = event as RowsEvent & { rows: Array<Record<string, unknown>> };
        const table = rowsEvent.tableMap[rowsEvent.tableId];
        if (!table || table.parentSchema !== this.config.DB_NAME) return;
        const keys = keysOfRows(table.tableName, rowsEvent.rows as never);
        if (keys.length === 0) return;
        this.inTransaction = true;
        this.applier.push({ kind: 'keys', keys });
        // Sessions are ended at the commit, after all of the transaction's keys: a bulk change
        // keeps its invalidations merged into few round trips.
        this.endings.push(...sessionEndingsOfRows(table.tableName, rowsEvent.rows as never, event.getEventName() === 'deleterows'));
        return;
      }
      case 'xid':
        this.commit(position, event.timestamp);
        return;
      case 'query': {
        const { query, schema } = event as QueryEvent;
        if (/^\s*BEGIN\b/i.test(query)) return;
        const tables = cachedTablesNamedBy(query, schema, this.config.DB_NAME);
        if (tables.length > 0) {
          this.inTransaction = true;
          this.applier.push({ kind: 'tables', tables });
        }
        this.commit(position, event.timestamp);
        return;
      }
    }
  }

  private commit(position: BinlogPosition, committedAt: number): void {
    if (this.endings.length > 0) this.applier.push({ kind: 'sessions', endings: this.endings.splice(0) });
    this.applier.push({ kind: 'commit', position, committedAt, relevant: this.inTransaction });
    this.inTransaction = false;
  }

  private onStreamError(zongji: ZongJi, err: Error & { errno?: number }): void {
    if (zongji !== this.zongji) return;
    this.status.lastError = `binlog: ${err.message}`;
    this.logger.error(`binlog stream failed: ${err.message}`);
    if (POSITION_LOST.test(`${err.errno ?? ''} ${err.message}`)) {
      void this.serially(() => this.restartFromEnd());
      return;
    }
    this.reconnect();
  }

  /**
   * Redis cannot take an invalidation: stop reading the binlog rather than hold its events in
   * memory for as long as the outage lasts. Once what was read is applied (Redis answers again),
   * the stream reopens at the last applied commit, so nothing in between is missed.
   */
  private pause(): void {
    if (!this.zongji || this.shuttingDown) return;
    this.logger.warn(`Redis is not taking invalidations: pausing the binlog stream at ${describePosition(this.status.applied)} until it does`);
    this.stopStream();
    void this.serially(() => this.startStream());
  }

  /** Closes the stream and opens it again after a backoff, from the last applied position. */
  private reconnect(): void {
    this.stopStream();
    if (this.shuttingDown || this.reconnectTimer) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    this.status.reconnects += 1;
    this.logger.warn(`reconnecting to the binlog in ${delay} ms`);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.serially(() => this.startStream()).then(() => {
        if (!this.zongji && this.status.role === 'leader') this.reconnect();
      });
    }, delay);
    this.reconnectTimer.unref();
  }

  /**
   * The checkpoint points at a binlog the server no longer has: the changes in between cannot be
   * read, so every key of the cached tables is cleared and capture starts again at the end.
   */
  private async restartFromEnd(): Promise<void> {
    this.logger.error('the checkpoint is no longer in the binlog: clearing the cached tables and starting at the end');
    this.stopStream();
    await this.applier.idle();
    this.applier.start();
    this.applier.push({ kind: 'tables', tables: CACHED_TABLES });
    await this.applier.idle();
    await this.checkpoints.clear();
    this.status.applied = null;
    await this.startStream();
  }

  private stopStream(): void {
    const zongji = this.zongji;
    this.zongji = undefined;
    this.status.connected = false;
    if (!zongji) return;
    zongji.removeAllListeners('binlog');
    zongji.removeAllListeners('error');
    zongji.on('error', () => undefined);
    zongji.stop();
  }

  private async currentEnd(): Promise<BinlogPosition> {
    const server = await this.serverPosition();
    const [{ version }] = await this.lock.query<RowDataPacket[]>('SELECT VERSION() AS version');
    let gtid: string | null = null;
    if (/mariadb/i.test(version)) {
      [{ gtid }] = await this.lock.query<RowDataPacket[]>('SELECT @@GLOBAL.gtid_binlog_pos AS gtid');
    } else {
      const [row] = await this.lock.query<RowDataPacket[]>('SELECT @@GLOBAL.gtid_mode AS mode, @@GLOBAL.gtid_executed AS gtid');
      gtid = row.mode === 'ON' ? row.gtid : null;
    }
    return { ...server, gtid: gtid ? String(gtid).replace(/\s+/g, '') : null };
  }

  private async serverPosition(): Promise<{ file: string; position: number }> {
    // MySQL 8.4 renamed SHOW MASTER STATUS; MariaDB knows only the old name.
    const rows = await this.lock
      .query<RowDataPacket[]>('SHOW MASTER STATUS')
      .catch(() => this.lock.query<RowDataPacket[]>('SHOW BINARY LOG STATUS'));
    if (rows.length === 0) throw new Error('the server has no binary log: start it with log_bin and binlog_format=ROW, or set CDC_MODE=off');
    return { file: rows[0].File, position: Number(rows[0].Position) };
  }

  private async measureLag(): Promise<void> {
    const server = await this.serverPosition();
    this.status.server = server;
    const applied = this.status.applied;
    if (!applied) {
      this.status.bytesBehind = null;
    } else if (applied.file === server.file) {
      this.status.bytesBehind = Math.max(0, server.position - applied.position);
    } else {
      const logs = await this.lock.query<RowDataPacket[]>('SHOW BINARY LOGS');
      let bytes = 0;
      for (const log of logs) {
        if (log.Log_name < applied.file || log.Log_name > server.file) continue;
        const size = log.Log_name === server.file ? server.position : Number(log.File_size);
        bytes += log.Log_name === applied.file ? Math.max(0, size - applied.position) : size;
      }
      this.status.bytesBehind = bytes;
    }
  }

  private account() {
    return {
      user: this.config.CDC_USER ?? this.config.DB_USER,
      password: this.config.CDC_USER ? (this.config.CDC_PASSWORD ?? '') : this.config.DB_PASSWORD,
    };
  }
}
