import { Injectable, Logger } from '@nestjs/common';

/**
 * Whether this process may answer from the cache right now. Closed while invalidations may be
 * waiting: at start-up until the outbox has been drained once, and from the moment Redis refuses
 * an invalidation or the connection to it drops until the outbox is drained again. Meanwhile
 * reads go to MySQL (the cache is neither read nor filled), so a Redis that comes back holding
 * rows changed during its absence is never read before their invalidations have reached it.
 */
@Injectable()
export class CacheGate {
  private readonly logger = new Logger('Cache');
  private open = false;
  private closings = 0;

  get isOpen(): boolean {
    return this.open;
  }

  close(why: string): void {
    this.closings += 1;
    if (!this.open) return;
    this.open = false;
    this.logger.warn(`reads bypass the cache until pending invalidations are delivered: ${why}`);
  }

  /** A mark to pass to `reopen`: a close after it (a failure during the drain) keeps the gate closed. */
  mark(): number {
    return this.closings;
  }

  /** Opens the gate after a drain that started at `mark` left nothing pending. */
  reopen(mark: number): void {
    if (this.open || mark !== this.closings) return;
    this.open = true;
    this.logger.log('no invalidation pending: reads use the cache');
  }
}
