import type Redis from 'ioredis';
import type { CacheInvalidator } from '../cache/cache-invalidator.service';
import { loadConfig } from '../config/app-config';
import { BinlogPosition } from './binlog-position';
import type { BinlogServer } from './binlog-server';
import { CdcStatus } from './cdc-status';
import { ChangeApplier } from './change-applier';
import type { CheckpointStore } from './checkpoint.store';
import type { SessionEnder } from './session-ender';
import { CapturedTransaction } from './transaction-assembler';

const at = (position: number): BinlogPosition => ({ file: 'bin.000001', position, gtid: null });
const tx = (position: number, fields: Partial<CapturedTransaction> = {}): CapturedTransaction => ({
  position: at(position),
  committedAt: position,
  keys: [],
  everySession: false,
  tables: [],
  endings: [],
  probe: null,
  relevant: true,
  ...fields,
});

describe('ChangeApplier', () => {
  let log: string[];
  let failures: number;
  let stalls: number;
  let status: CdcStatus;
  let applier: ChangeApplier;

  beforeEach(() => {
    log = [];
    failures = 0;
    stalls = 0;
    status = new CdcStatus(loadConfig({ CDC_MODE: 'binlog' }));
    const invalidator = {
      invalidate: async (keys: string[]) => {
        if (failures > 0) {
          failures -= 1;
          throw new Error('Connection is closed.');
        }
        log.push(`invalidate ${keys.join(',')}`);
      },
    } as unknown as CacheInvalidator;
    const server = { waitVisible: async (probe: { id: number }) => void log.push(`visible ${probe.id}`) } as unknown as BinlogServer;
    const checkpoints = { save: async (p: BinlogPosition) => void log.push(`checkpoint ${p.position}`) } as unknown as CheckpointStore;
    const sessions = { end: async (endings: unknown[]) => void log.push(`end ${endings.length}`) } as unknown as SessionEnder;
    applier = new ChangeApplier(invalidator, {} as Redis, checkpoints, server, sessions, status);
    applier.start(at(4), { stalled: () => (stalls += 1) });
  });
  afterEach(() => applier.stop(false));

  it('invalidates row keys as they come, and at the commit waits for visibility before invalidating again', async () => {
    applier.push([{ kind: 'keys', keys: ['k1'] }]);
    await applier.idle();
    applier.push([
      {
        kind: 'commit',
        transaction: tx(100, { keys: ['k1'], probe: { table: 'app_users', id: 7 }, endings: [{ kind: 'user', userId: 7, reason: 'deleted' }] }),
      },
    ]);
    await applier.idle();
    expect(log).toEqual(['invalidate k1', 'visible 7', 'invalidate k1', 'end 1', 'checkpoint 100']);
    expect([applier.applied, status.applied, status.appliedCommitAt]).toEqual([at(100), at(100), 100]);
  });

  it('applies what queued up together: one visibility wait for the last transaction, one invalidation', async () => {
    applier.push([
      { kind: 'keys', keys: ['a'] },
      { kind: 'commit', transaction: tx(100, { keys: ['a'], probe: { table: 'app_users', id: 1 } }) },
      { kind: 'keys', keys: ['b'] },
      { kind: 'commit', transaction: tx(200, { keys: ['b'], probe: { table: 'devices', id: 2 } }) },
    ]);
    await applier.idle();
    expect(log).toEqual(['invalidate a,b', 'visible 2', 'invalidate a,b', 'checkpoint 200']);
  });

  it('retries an invalidation Redis refused, says it stalled, and moves no position until it succeeds', async () => {
    failures = 2;
    applier.push([{ kind: 'commit', transaction: tx(100, { keys: ['k'] }) }]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect([applier.applied, log, stalls]).toEqual([at(4), [], 1]);
    expect(status.lastError).toMatch(/^redis: invalidation of 1 key\(s\) failed/);
    await applier.idle();
    expect(log).toEqual(['invalidate k', 'checkpoint 100']);
    expect([applier.applied, stalls, status.lastError]).toEqual([at(100), 2, null]);
  });

  it('moves the position over transactions of other tables but writes no checkpoint for them', async () => {
    applier.push([{ kind: 'commit', transaction: tx(100, { relevant: false }) }]);
    await applier.idle();
    expect([applier.applied, log]).toEqual([at(100), []]);
  });

  it('a stop with flush writes the last applied position; a stopped applier takes nothing more', async () => {
    applier.push([{ kind: 'commit', transaction: tx(100, { relevant: false }) }]);
    await applier.idle();
    await applier.stop(true);
    applier.push([{ kind: 'commit', transaction: tx(200, { keys: ['x'] }) }]);
    await applier.idle();
    expect(log).toEqual(['checkpoint 100']);
  });
});
