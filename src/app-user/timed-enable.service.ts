import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppUserService } from './app-user.service';

const POLL_MS = 1000;

/**
 * Ends timed disables (`disabledUntil`) by itself, on every process, whoever set them: an admin
 * through the API or an operator in SQL (`UPDATE app_users SET status = 2, disabled_until =
 * UTC_TIMESTAMP(3) + INTERVAL 1 HOUR`). Each process looks once a second for lapsed rows and
 * enables them through the model layer (caches invalidated); a row one process is enabling is
 * skipped by the others, so each is enabled once and logged once. An account comes back within
 * about a second of its time, or as soon as MySQL answers again.
 */
@Injectable()
export class TimedEnable implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('TimedEnable');
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** Whether the last look failed: a MySQL outage is logged when it starts and ends, not every second. */
  private failing = false;

  constructor(private readonly users: AppUserService) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running ??= this.runOnce().finally(() => (this.running = undefined));
    }, POLL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async runOnce(): Promise<void> {
    try {
      for (;;) {
        const enabled = await this.users.enableLapsed(new Date());
        for (const id of enabled) this.logger.log({ msg: `app user ${id} enabled again: its timed disable lapsed`, userId: id });
        if (this.failing) this.logger.log('timed disables checked again');
        this.failing = false;
        if (enabled.length < 100) return;
      }
    } catch (err) {
      if (!this.failing) this.logger.warn(`timed disables not checked, will retry every second: ${(err as Error).message}`);
      this.failing = true;
    }
  }
}
