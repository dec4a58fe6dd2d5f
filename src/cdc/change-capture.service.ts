import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { CACHED_TABLES } from '../cache/cache-keys';
import { BinlogPosition, describePosition, reached } from './binlog-position';
import { BinlogServer } from './binlog-server';
import { BinlogStream } from './binlog-stream';
import { CdcStatus } from './cdc-status';
import { ChangeApplier } from './change-applier';
import { CheckpointStore } from './checkpoint.store';
import { LeaderElection } from './leader-election';
import { StreamWatch } from './stream-watch';
import { rowImagesOf, TransactionAssembler } from './transaction-assembler';

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** Server errors meaning the checkpoint's binlog is gone (purged, or from another server). */
const POSITION_LOST = /\b(1236|1945|1955)\b|Could not find first log|purged|binlog (?:file|position)/i;
/** How often the lag is logged while it stays small (in heartbeats). */
const LAG_LOG_EVERY = 12;

/**
 * CDC_MODE=binlog (CONTRACT section 4): while this process leads (LeaderElection), it reads the
 * binary log (BinlogStream) from the last applied position, turns events into transactions
 * (TransactionAssembler) and applies them (ChangeApplier): every key of every changed row of the
 * cached tables is invalidated and the sessions the change ended are ended, whoever changed it.
 * Every heartbeat it measures the lag and reopens a stream that went silent; while Redis refuses
 * invalidations it stops reading rather than queue the binlog in memory.
 */
@Injectable()
export class ChangeCapture implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('ChangeCapture');
  private readonly assembler: TransactionAssembler;
  private readonly watch: StreamWatch;
  private lifecycle: Promise<void> = Promise.resolve();
  private heartbeat?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  private backoffMs = BACKOFF_FIRST_MS;
  private leading = false;
  private paused = false;
  private shuttingDown = false;
  private beats = 0;

  constructor(
    private readonly config: AppConfig,
    private readonly election: LeaderElection,
    private readonly stream: BinlogStream,
    private readonly applier: ChangeApplier,
    private readonly checkpoints: CheckpointStore,
    private readonly server: BinlogServer,
    private readonly status: CdcStatus,
    @InjectDataSource() dataSource: DataSource,
  ) {
    this.assembler = new TransactionAssembler(config.DB_NAME, rowImagesOf(dataSource));
    this.watch = new StreamWatch(2 * config.CDC_HEARTBEAT_SECONDS * 1000);
  }

  onApplicationBootstrap(): void {
    if (this.config.CDC_MODE === 'off') {
      this.logger.log('CDC_MODE=off: changes made outside the service (hand-written SQL) are left to the operator tools (npm run cache, /admin/cache)');
      return;
    }
    this.logger.log(
      `CDC_MODE=binlog: tailing the binary log of ${this.config.DB_HOST}:${this.config.DB_PORT} for ${this.config.DB_NAME}.{${CACHED_TABLES.join(',')}}`,
    );
    this.election.run({ elected: () => this.serially(() => this.lead()), deposed: () => this.serially(() => this.standBy()) });
    this.heartbeat = setInterval(() => void this.serially(() => this.beat()), this.config.CDC_HEARTBEAT_SECONDS * 1000);
    this.heartbeat.unref();
  }

  /**
   * Before the HTTP server and the Socket.IO adapter close: a change applied after that would
   * end sessions and kick sockets through an adapter whose Redis clients are gone.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.config.CDC_MODE === 'off') return;
    this.shuttingDown = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.reconnectTimer);
    this.stream.close();
    // Before waiting for the serial work: an applier waiting for Redis to come back is released here.
    await this.applier.stop(this.leading);
    await this.serially(async () => this.stream.close());
    await this.election.stop();
  }

  /** Test hook: resolves when everything read so far is applied and checkpointed. */
  idle(): Promise<void> {
    return this.applier.idle();
  }

  private serially(work: () => Promise<void>): Promise<void> {
    this.lifecycle = this.lifecycle.then(work).catch((err: Error) => {
      this.status.lastError = err.message;
      this.logger.error(`change capture: ${err.message}`);
    });
    return this.lifecycle;
  }

  private async lead(): Promise<void> {
    if (this.shuttingDown) return;
    this.leading = true;
    let from = await this.checkpoints.load();
    if (from) {
      this.logger.log(`resuming from ${describePosition(from)}`);
    } else {
      from = await this.server.currentEnd();
      await this.checkpoints.save(from);
      this.logger.log(`no checkpoint: starting at the current end of the binlog, ${describePosition(from)}`);
    }
    this.status.checkpoint = from;
    this.applier.start(from, { stalled: () => this.pause() });
    await this.openStream();
  }

  private async standBy(): Promise<void> {
    this.leading = false;
    this.closeStream();
    await this.applier.stop(false);
  }

  private async openStream(): Promise<void> {
    if (!this.leading || this.shuttingDown || this.stream.isOpen) return;
    await this.applier.idle();
    const from = this.applier.applied!;
    this.assembler.reset();
    this.watch.reset();
    this.status.received = from;
    const opened = await this.stream.open(from, {
      event: (event, position) => {
        this.status.received = position;
        this.status.lastEventAt = this.stream.lastEventAt;
        this.applier.push(this.assembler.accept(event, position));
      },
      error: (err) => this.onStreamError(err),
    });
    this.status.connected = opened;
    if (opened) {
      this.paused = false;
      this.backoffMs = BACKOFF_FIRST_MS;
      this.status.lastEventAt = this.stream.lastEventAt;
    }
  }

  private closeStream(): void {
    this.stream.close();
    this.status.connected = false;
  }

  private onStreamError(err: Error & { errno?: number }): void {
    this.status.connected = false;
    this.status.lastError = `binlog: ${err.message}`;
    this.logger.error(`binlog stream failed: ${err.message}`);
    if (POSITION_LOST.test(`${err.errno ?? ''} ${err.message}`)) void this.serially(() => this.restartFromEnd());
    else this.reconnect();
  }

  /**
   * The applier cannot apply (Redis refuses invalidations): stop reading the binlog rather than hold
   * its events in memory for as long as the outage lasts. Once what was read is applied, the stream
   * reopens at the last applied commit, so nothing in between is missed.
   */
  private pause(): void {
    if (!this.stream.isOpen || this.paused || this.shuttingDown) return;
    this.paused = true;
    this.logger.warn(`changes cannot be applied: pausing the binlog stream at ${describePosition(this.applier.applied)} until they can`);
    this.closeStream();
    void this.serially(() => this.openStream());
  }

  /** Closes the stream and opens it again after a backoff, from the last applied position. */
  private reconnect(): void {
    this.closeStream();
    if (this.shuttingDown || this.reconnectTimer || !this.leading) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    this.status.reconnects += 1;
    this.logger.warn(`reconnecting to the binlog in ${delay} ms`);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.serially(() => this.openStream());
    }, delay);
    this.reconnectTimer.unref();
  }

  /**
   * The checkpoint points at a binlog the server no longer has: the changes in between cannot be
   * read, so every key of the cached tables is cleared, every session is held against MySQL, and
   * capture starts again at the end.
   */
  private async restartFromEnd(): Promise<void> {
    this.logger.error('the checkpoint is no longer in the binlog: clearing the cached tables and starting at the end');
    this.closeStream();
    await this.applier.idle();
    const end = await this.server.currentEnd();
    this.applier.push([
      {
        kind: 'commit',
        transaction: { position: end, committedAt: Date.now(), keys: [], tables: CACHED_TABLES, endings: [], everySession: true, probe: null, relevant: true },
      },
    ]);
    await this.applier.idle();
    await this.openStream();
  }

  /** Heartbeat: measure the lag, reopen a stream that went silent or failed to reopen, say how it goes. */
  private async beat(): Promise<void> {
    if (!this.leading || this.shuttingDown) return;
    this.beats += 1;
    if (!this.stream.isOpen && !this.reconnectTimer && !this.paused) await this.openStream();
    const end = await this.server.end();
    this.status.server = end;
    const applied = this.applier.applied;
    // The applied position moves at commits only; what follows the last one (a rotation to a new
    // file after a restart or FLUSH LOGS, its header events) holds no change. A stream that has
    // received everything up to the server's end with nothing left to apply is not behind.
    const idleAtEnd = this.stream.isOpen && reached(this.status.received, end) && this.applier.caughtUp;
    this.status.bytesBehind = applied ? (idleAtEnd ? 0 : await this.server.bytesBehind(applied, end)) : null;
    if (this.stream.isOpen && this.watch.silent(this.status.received, end, Date.now())) {
      this.logger.warn(
        `the binlog stream has been silent for ${Math.round((Date.now() - (this.stream.lastEventAt ?? 0)) / 1000)} s while the server moved on: reconnecting`,
      );
      this.reconnect();
    }
    const lag = this.status.lagSeconds();
    if ((lag ?? 0) > this.config.CDC_HEARTBEAT_SECONDS || this.beats % LAG_LOG_EVERY === 0) {
      this.logger.log(
        `change capture: lag ${lag ?? '?'} s, ${this.status.bytesBehind ?? '?'} byte(s) behind, applied ${describePosition(applied as BinlogPosition | null)}`,
      );
    }
  }
}
