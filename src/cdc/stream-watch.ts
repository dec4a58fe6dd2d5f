import { reached, ServerPosition } from './binlog-position';

/**
 * Tells a binlog stream that went silent from one that is merely a few milliseconds behind.
 * The server's end position is read on every heartbeat; a commit made just before that read is
 * still on its way to the stream, so "behind" alone proves nothing. The stream is silent when it
 * has not reached, within `graceMs`, a position the server reported: progress restarts the clock.
 */
export class StreamWatch {
  private awaited: { target: ServerPosition; since: number } | null = null;

  constructor(private readonly graceMs: number) {}

  /** Records a heartbeat's reading; true when the stream should be reopened. */
  silent(received: ServerPosition | null, server: ServerPosition | null, now: number): boolean {
    if (!server || reached(received, server)) {
      this.awaited = null;
      return false;
    }
    if (!this.awaited || reached(received, this.awaited.target)) this.awaited = { target: server, since: now };
    return now - this.awaited.since > this.graceMs;
  }

  /** A new stream starts with a clean slate. */
  reset(): void {
    this.awaited = null;
  }
}
