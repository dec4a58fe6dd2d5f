import { PassThrough } from 'stream';
import { scanFraction } from '../cache/keyspace';
import { ProgressReporter } from './progress-reporter';

function fakeStream(tty: boolean): NodeJS.WriteStream & { text(): string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & { text(): string };
  let written = '';
  stream.write = ((chunk: string) => ((written += chunk), true)) as never;
  Object.assign(stream, { isTTY: tty, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  stream.text = () => written;
  return stream;
}

describe('ProgressReporter', () => {
  it('draws a bar on a terminal', () => {
    const stream = fakeStream(true);
    const progress = new ProgressReporter('clear all', stream);
    progress.update({ fraction: 0.5, detail: 'deleted 10' });
    progress.finish({ fraction: 1, detail: 'deleted 20' });
    expect(stream.text()).toContain('clear all [');
    expect(stream.text()).toContain('100% | deleted 20');
  });

  it('writes one line per interval elsewhere, and a last line if it wrote any', () => {
    const stream = fakeStream(false);
    const progress = new ProgressReporter('clear all', stream, 60_000);
    progress.update({ fraction: 0.25, detail: 'deleted 1' });
    progress.update({ fraction: 0.5, detail: 'deleted 2' });
    progress.finish({ fraction: 1, detail: 'deleted 3' });
    expect(stream.text().split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^clear all: 25\.0% of the keyspace, deleted 1, [\d.]+s$/),
      expect.stringMatching(/^clear all: 100\.0% of the keyspace, deleted 3, [\d.]+s$/),
    ]);
  });
});

describe('scanFraction', () => {
  it('reads a SCAN cursor as the share of the table walked', () => {
    expect(scanFraction('0')).toBe(1);
    // Table of 8 buckets: reverse-binary order 0,4,2,6,1,5,3,7.
    expect(scanFraction('4')).toBeCloseTo(1 / 8);
    expect(scanFraction('2')).toBeCloseTo(2 / 8);
    expect(scanFraction('1')).toBeCloseTo(4 / 8);
    expect(scanFraction('7')).toBeCloseTo(7 / 8);
  });
});
