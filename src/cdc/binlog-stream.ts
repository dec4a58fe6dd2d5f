import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { cdcConnectionOptions } from './cdc-connection';
import { BinlogPosition } from './binlog-position';
import { CACHED_TABLES } from '../cache/cache-keys';
import { BinlogEvent, ZongJi, ZongJiDsn } from './zongji.loader';

/** Makes the binlog client (injected, so a unit spec can replace it). */
export const ZONGJI_FACTORY = Symbol('ZONGJI_FACTORY');
export type ZongJiFactory = (dsn: ZongJiDsn) => ZongJi;

const EVENTS = [
  'tablemap',
  'writerows',
  'updaterows',
  'deleterows',
  'query',
  'xid',
  'rotate',
  'mariadbgtid',
  'gtid',
  'heartbeat',
  'binlogcheckpoint',
  'mariadbgtidlist',
  'previousgtids',
];
const READY_TIMEOUT_MS = 10_000;

export interface StreamHandlers {
  /** An event, with the position just after it (where a stream resumes to read the next one). */
  event(event: BinlogEvent, position: BinlogPosition): void;
  /** The stream failed, while opening or after; it is closed already. */
  error(err: Error & { errno?: number }): void;
}

/**
 * The binlog as a replica reads it (zongji), from a position, filtered to the cached tables of
 * DB_NAME. One stream at a time; events of a closed stream are never delivered.
 */
@Injectable()
export class BinlogStream {
  private cancelOpen?: () => void;
  private client?: ZongJi;
  /** When the last event (or the opening) was seen: a silent stream is told apart by the heartbeat. */
  lastEventAt: number | null = null;

  constructor(
    @Inject(ZONGJI_FACTORY) private readonly create: ZongJiFactory,
    private readonly config: AppConfig,
  ) {}

  get isOpen(): boolean {
    return this.client !== undefined;
  }

  /**
   * Opens the stream at `from`: true once the server streams, false if it did not (the error,
   * or a timeout, has gone to `handlers.error`, the one place failures are handled).
   */
  open(from: BinlogPosition, handlers: StreamHandlers): Promise<boolean> {
    this.close();
    const client = this.create(cdcConnectionOptions(this.config));
    this.client = client;
    return new Promise<boolean>((resolve) => {
      const fail = (err: Error) => {
        clearTimeout(timer);
        if (this.client !== client) return resolve(false);
        this.close();
        handlers.error(err);
        resolve(false);
      };
      const timer = setTimeout(() => fail(new Error(`the server did not start the stream within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      // Closed before the server answered: the open ends now, and its timer holds nothing open.
      this.cancelOpen = () => {
        clearTimeout(timer);
        resolve(false);
      };
      client.once('ready', () => {
        clearTimeout(timer);
        this.cancelOpen = undefined;
        this.lastEventAt = Date.now();
        resolve(this.client === client);
      });
      client.on('binlog', (event: BinlogEvent) => {
        if (this.client !== client) return;
        this.lastEventAt = Date.now();
        handlers.event(event, { file: client.options.filename!, position: client.options.position!, gtid: client.gtidSet || null });
      });
      client.on('error', fail);
      client.start({
        serverId: this.config.CDC_SERVER_ID,
        includeEvents: EVENTS,
        includeSchema: { [this.config.DB_NAME]: CACHED_TABLES },
        ...(from.gtid ? { gtidSet: from.gtid } : { filename: from.file, position: from.position }),
      });
    });
  }

  close(): void {
    this.cancelOpen?.();
    this.cancelOpen = undefined;
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    client.removeAllListeners('binlog');
    client.removeAllListeners('error');
    client.on('error', () => undefined);
    client.stop();
  }
}
