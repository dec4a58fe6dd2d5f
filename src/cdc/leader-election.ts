import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { CdcStatus } from './cdc-status';
import { LEADER_LOCK, LeaderLock } from './leader-lock';

export interface Leadership {
  /** This process just became the leader. */
  elected(): Promise<void>;
  /** It lost the lock (its connection to MySQL went): it must stop at once, another may lead. */
  deposed(): Promise<void>;
}

const RETRY_MS = 1000;

/**
 * Who tails the binlog: the holder of the leader lock. A standby waits inside GET_LOCK rather than
 * polling it, so it takes over the moment MySQL frees the lock (the leader's connection ended),
 * not at its next try. The leader re-checks that it holds the lock every heartbeat. Each change
 * of role is one log line with `role` (leader, standby, stopped), whatever number of waits for
 * the lock lie between.
 */
@Injectable()
export class LeaderElection {
  private readonly logger = new Logger('ChangeCapture');
  private stopped = true;
  private running?: Promise<void>;
  private wake?: () => void;
  private leading = false;
  /** The role the log last told. */
  private told?: 'leader' | 'standby';

  constructor(
    @Inject(LEADER_LOCK) private readonly lock: LeaderLock,
    private readonly config: AppConfig,
    private readonly status: CdcStatus,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  run(leadership: Leadership): void {
    this.stopped = false;
    this.running = this.loop(leadership);
  }

  /** Stops standing for election; a leader releases the lock (its caller stops capture first). */
  async stop(): Promise<void> {
    const was = this.leading ? 'leader' : 'standby';
    this.stopped = true;
    if (!this.leading) this.lock.abort(); // a standby is waiting inside GET_LOCK
    this.wake?.();
    await this.running;
    // Said before the lock goes: a standby takes over the moment it does, and its "leader" line
    // must not come before this one.
    if (this.running)
      this.logger.log({ msg: `change capture stopped (was ${was}): releasing lock ${this.lock.name}`, role: 'stopped', was, lock: this.lock.name });
    await this.lock.release();
    this.running = undefined;
  }

  private async loop(leadership: Leadership): Promise<void> {
    while (!this.stopped) {
      if (!(await this.acquired())) continue;
      this.setLeading(true);
      this.tell('leader', `this process is the change capture leader (lock ${this.lock.name})`);
      await leadership.elected().catch((err: Error) => this.logger.error(`starting change capture: ${err.message}`));
      while (!this.stopped && (await this.lock.held().catch(() => false))) await this.sleep(this.config.CDC_HEARTBEAT_SECONDS * 1000);
      if (this.stopped) return;
      this.setLeading(false);
      this.tell('standby', 'lost the change capture leader lock (connection to MySQL lost?): standing by');
      await leadership.deposed().catch((err: Error) => this.logger.error(`stopping change capture: ${err.message}`));
      await this.lock.release();
    }
  }

  private async acquired(): Promise<boolean> {
    try {
      const got = await this.lock.acquire(this.config.CDC_HEARTBEAT_SECONDS);
      if (!got && !this.stopped) this.tell('standby', `change capture standby: another process holds the leader lock ${this.lock.name}`);
      return got;
    } catch (err) {
      if (!this.stopped) {
        this.status.lastError = `leader lock: ${(err as Error).message}`;
        await this.sleep(RETRY_MS);
      }
      return false;
    }
  }

  private tell(role: 'leader' | 'standby', msg: string): void {
    if (this.told === role) return;
    const line = { msg, role, lock: this.lock.name };
    if (role === 'standby' && this.told === 'leader') this.logger.warn(line);
    else this.logger.log(line);
    this.told = role;
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.status.role = leading ? 'leader' : 'standby';
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
