import { BeforeApplicationShutdown, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Connection } from 'mysql2/promise';
import { ConnectionStateLog } from '../common/logging';

/** How often MySQL is asked whether it answers while it does, and while it does not. */
const PROBE_UP_MS = 5000;
const PROBE_DOWN_MS = 1000;
const PROBE_TIMEOUT_MS = 2000;

/** Opens the probe's connection: the service's account and database, beside the pool. */
export type MysqlConnect = () => Promise<Connection>;

/**
 * The service's MySQL connection in the log, one line per change: lost (MySQL refused, dropped or
 * did not answer the probe), regained (it answers again). The probe is a connection of its own
 * beside the pool, which asks `SELECT 1` every five seconds (every second while MySQL is lost) and
 * at once when the server drops that connection. Not the pool: a pool busy with slow queries would
 * make the probe wait for a free connection and report an outage that is none, and the pool's
 * failures reach requests one at a time, each logging its cause on its own line. A connection the
 * server closes while it still accepts new ones (KILL, wait_timeout) is no outage: the probe
 * connects again and writes nothing.
 */
export class MysqlConnectionWatch implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly state: ConnectionStateLog;
  private conn?: Connection;
  private timer?: NodeJS.Timeout;
  private probing?: Promise<void>;
  private stopped = false;

  constructor(
    target: string,
    private readonly connect: MysqlConnect,
  ) {
    this.state = new ConnectionStateLog(new Logger('MySQL'), 'mysql', target);
  }

  onApplicationBootstrap(): void {
    void this.check();
  }

  /** Before the pool closes: a shutdown is not an outage. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.probing;
    const conn = this.conn;
    this.conn = undefined;
    if (conn) await within(conn.end(), 500).catch(() => conn.destroy());
  }

  /** Probes now, unless a probe is under way; the next one is scheduled when it ends. */
  check(): Promise<void> {
    this.probing ??= this.probe().finally(() => {
      this.probing = undefined;
      this.schedule();
    });
    return this.probing;
  }

  private async probe(): Promise<void> {
    if (this.stopped) return;
    try {
      const conn = await this.connection();
      await within(conn.query('SELECT 1'), PROBE_TIMEOUT_MS);
      if (!this.stopped) this.state.regained();
    } catch (err) {
      this.drop(this.conn);
      if (!this.stopped) this.state.lost((err as Error).message);
    }
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.check(), this.state.isUp ? PROBE_UP_MS : PROBE_DOWN_MS);
    this.timer.unref();
  }

  private async connection(): Promise<Connection> {
    if (this.conn) return this.conn;
    const conn = await this.connect();
    if (this.stopped) {
      conn.destroy();
      throw new Error('closing');
    }
    const dropped = () => {
      if (this.conn !== conn) return;
      this.drop(conn);
      if (!this.stopped) void this.check();
    };
    conn.on('error', dropped);
    conn.on('end', dropped);
    this.conn = conn;
    return conn;
  }

  private drop(conn: Connection | undefined): void {
    if (!conn) return;
    if (this.conn === conn) this.conn = undefined;
    conn.destroy();
  }
}

function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
