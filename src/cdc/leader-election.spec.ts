import { loadConfig } from '../config/app-config';
import { CdcStatus } from './cdc-status';
import { LeaderElection } from './leader-election';
import type { LeaderLock } from './leader-lock';

/** A lock the test grants and takes away by hand. */
class FakeLock {
  readonly name = 'hi-server:cdc:test';
  acquires = 0;
  releases = 0;
  holding = true;
  private grant?: (got: boolean) => void;
  private refuse?: (err: Error) => void;

  acquire(): Promise<boolean> {
    this.acquires += 1;
    return new Promise((resolve, reject) => {
      this.grant = resolve;
      this.refuse = reject;
    });
  }
  give(): void {
    this.grant?.(true);
  }
  fail(message: string): void {
    this.refuse?.(new Error(message));
  }
  async held(): Promise<boolean> {
    return this.holding;
  }
  async release(): Promise<void> {
    this.releases += 1;
  }
  abort(): void {
    this.fail('aborted');
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('LeaderElection', () => {
  const config = loadConfig({ CDC_MODE: 'binlog', CDC_HEARTBEAT_SECONDS: '1' });
  let lock: FakeLock;
  let status: CdcStatus;
  let election: LeaderElection;
  const events: string[] = [];
  const leadership = {
    elected: async () => void events.push('elected'),
    deposed: async () => void events.push('deposed'),
  };

  beforeEach(() => {
    events.length = 0;
    lock = new FakeLock();
    status = new CdcStatus(config);
    election = new LeaderElection(lock as unknown as LeaderLock, config, status);
  });
  afterEach(() => election.stop());

  it('waits inside the lock and leads the moment it is granted, not at a next try', async () => {
    election.run(leadership);
    await tick();
    expect([lock.acquires, status.role, events]).toEqual([1, 'standby', []]);
    lock.give();
    await tick();
    expect([election.isLeader, status.role, events]).toEqual([true, 'leader', ['elected']]);
  });

  it('a leader that finds the lock gone stands down, releases it and waits for it again', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    try {
      election.run(leadership);
      await tick();
      lock.give();
      await tick();
      lock.holding = false;
      await jest.advanceTimersByTimeAsync(1000);
      expect([election.isLeader, status.role, events, lock.releases, lock.acquires]).toEqual([false, 'standby', ['elected', 'deposed'], 1, 2]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('a lock that cannot be asked for (MySQL away) is asked for again, and the failure is reported', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    try {
      election.run(leadership);
      await tick();
      lock.fail('connect ECONNREFUSED');
      await tick();
      expect(status.lastError).toBe('leader lock: connect ECONNREFUSED');
      expect(lock.acquires).toBe(1);
      await jest.advanceTimersByTimeAsync(1000);
      expect(lock.acquires).toBe(2);
    } finally {
      jest.useRealTimers();
    }
  });

  it('stopping a standby ends its wait for the lock at once', async () => {
    election.run(leadership);
    await tick();
    const started = Date.now();
    await election.stop();
    expect(Date.now() - started).toBeLessThan(100);
    expect(events).toEqual([]);
  });

  it('stopping a leader releases the lock without reporting a deposition', async () => {
    election.run(leadership);
    await tick();
    lock.give();
    await tick();
    await election.stop();
    expect(events).toEqual(['elected']);
    expect(lock.releases).toBeGreaterThanOrEqual(1);
  });
});
