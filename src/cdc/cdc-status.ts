import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { BinlogPosition } from './binlog-position';

export type CdcRole = 'off' | 'standby' | 'leader';

/**
 * What change capture is doing, for /health, /metrics and the logs: a report its parts write as
 * they work. Nothing reads it to decide anything; the applier owns the resume position.
 */
@Injectable()
export class CdcStatus {
  role: CdcRole;
  connected = false;
  /** Where the stream stands: every transaction up to here has been read. */
  received: BinlogPosition | null = null;
  /** Every transaction up to here has been invalidated (the checkpoint may lag a little behind). */
  applied: BinlogPosition | null = null;
  checkpoint: BinlogPosition | null = null;
  server: { file: string; position: number } | null = null;
  bytesBehind: number | null = null;
  /** Commit time, on the server's clock, of the last transaction invalidated. */
  appliedCommitAt: number | null = null;
  lastEventAt: number | null = null;
  reconnects = 0;
  invalidatedKeys = 0;
  lastError: string | null = null;

  constructor(private readonly config: AppConfig) {
    this.role = config.CDC_MODE === 'binlog' ? 'standby' : 'off';
  }

  /** Seconds the cache may trail the database: 0 when caught up with the server's last write. */
  lagSeconds(now = Date.now()): number | null {
    if (this.role !== 'leader') return null;
    if (this.bytesBehind === 0) return 0;
    const since = this.appliedCommitAt ?? this.lastEventAt;
    return since === null ? null : Math.max(0, Math.round((now - since) / 100) / 10);
  }

  snapshot() {
    return {
      mode: this.config.CDC_MODE,
      role: this.role,
      connected: this.connected,
      lagSeconds: this.lagSeconds(),
      bytesBehind: this.bytesBehind,
      applied: this.applied,
      checkpoint: this.checkpoint,
      server: this.server,
      lastEventAt: this.lastEventAt === null ? null : new Date(this.lastEventAt).toISOString(),
      reconnects: this.reconnects,
      invalidatedKeys: this.invalidatedKeys,
      lastError: this.lastError,
    };
  }
}
