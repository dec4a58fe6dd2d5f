import type { INestApplicationContext } from '@nestjs/common';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { ChangeCapture } from '../../src/cdc/change-capture.service';
import { reached } from '../../src/cdc/binlog-position';
import { CdcStatus } from '../../src/cdc/cdc-status';
import { eventually } from './wait';

/**
 * Resolves once the app's change capture has applied, and checkpointed, everything committed so
 * far. Heartbeat figures (bytesBehind) are up to a heartbeat old; this reads the server's end now.
 */
export async function cdcSettled(app: INestApplicationContext, sql: Connection, timeoutMs = 10_000): Promise<void> {
  const [[end]] = await sql.query<RowDataPacket[]>('SHOW MASTER STATUS');
  const target = { file: String(end.File), position: Number(end.Position) };
  await eventually(
    'change capture caught up',
    async () => app.get(CdcStatus).applied,
    (applied) => reached(applied, target),
    timeoutMs,
  );
  await app.get(ChangeCapture).idle();
}
