import { SingleBar } from 'cli-progress';
import type { CliStream } from './cli-io';

export interface ProgressSnapshot {
  /** 0..1 of the keyspace walked. */
  fraction: number;
  /** What to show beside the bar, e.g. "deleted 12000". */
  detail: string;
}

/**
 * Progress of a long run on stderr, so stdout stays the answer: a bar on a terminal, otherwise
 * (logs, CI, pipes) one line about every second.
 */
export class ProgressReporter {
  private bar: SingleBar | null = null;
  private lastLine = 0;
  private readonly started = Date.now();

  constructor(
    private readonly label: string,
    private readonly stream: CliStream = process.stderr,
    private readonly intervalMs = 1000,
  ) {
    if (stream.isTTY) {
      this.bar = new SingleBar({
        // A terminal: the process's own stream (a test's capture is never a TTY).
        stream: stream as NodeJS.WriteStream,
        format: `${label} [{bar}] {percentage}% | {detail} | {duration_formatted}`,
        hideCursor: true,
        clearOnComplete: false,
      });
      this.bar.start(1000, 0, { detail: '' });
    }
  }

  update(snapshot: ProgressSnapshot): void {
    if (this.bar) {
      this.bar.update(Math.round(snapshot.fraction * 1000), { detail: snapshot.detail });
      return;
    }
    const now = Date.now();
    if (now - this.lastLine < this.intervalMs) return;
    this.lastLine = now;
    this.line(snapshot);
  }

  finish(snapshot: ProgressSnapshot): void {
    if (this.bar) {
      this.bar.update(1000, { detail: snapshot.detail });
      this.bar.stop();
    } else if (this.lastLine > 0) {
      this.line(snapshot);
    }
  }

  private line(snapshot: ProgressSnapshot): void {
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1);
    this.stream.write(`${this.label}: ${(snapshot.fraction * 100).toFixed(1)}% of the keyspace, ${snapshot.detail}, ${seconds}s\n`);
  }
}
