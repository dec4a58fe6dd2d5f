import { reached } from './binlog-position';
import { StreamWatch } from './stream-watch';

const at = (position: number, file = 'mysql-bin.000001') => ({ file, position });

describe('StreamWatch', () => {
  it('does not call a stream silent that is behind only because a commit is in flight', () => {
    const watch = new StreamWatch(2000);
    // The stream was idle for a long time, then a commit lands just before the heartbeat reads the server.
    expect(watch.silent(at(100), at(100), 0)).toBe(false);
    expect(watch.silent(at(100), at(250), 10_000)).toBe(false);
    // The event arrives: caught up.
    expect(watch.silent(at(250), at(250), 11_000)).toBe(false);
  });

  it('calls a stream silent once it misses a position the server reported longer ago than the grace', () => {
    const watch = new StreamWatch(2000);
    expect(watch.silent(at(100), at(250), 0)).toBe(false);
    expect(watch.silent(at(100), at(300), 1000)).toBe(false);
    expect(watch.silent(at(100), at(300), 2000)).toBe(false);
    expect(watch.silent(at(100), at(300), 2001)).toBe(true);
  });

  it('restarts the clock while a busy stream makes progress towards a moving end', () => {
    const watch = new StreamWatch(2000);
    expect(watch.silent(at(100), at(1000), 0)).toBe(false);
    expect(watch.silent(at(1000), at(5000), 1500)).toBe(false);
    expect(watch.silent(at(3000), at(9000), 3000)).toBe(false);
    expect(watch.silent(at(5000), at(9000), 3600)).toBe(false);
    expect(watch.silent(at(5000), at(9000), 5000)).toBe(false);
    expect(watch.silent(at(5000), at(9000), 5601)).toBe(true);
  });

  it('forgets what it awaited when reset for a new stream', () => {
    const watch = new StreamWatch(2000);
    watch.silent(at(100), at(250), 0);
    watch.reset();
    expect(watch.silent(at(100), at(250), 2500)).toBe(false);
  });

  it('has nothing to await before the server position is known', () => {
    expect(new StreamWatch(0).silent(at(1), null, 99_999)).toBe(false);
  });
});

describe('reached', () => {
  it('orders positions by file number, then offset', () => {
    expect(reached(at(5, 'b.000002'), at(900, 'b.000001'))).toBe(true);
    expect(reached(at(900, 'b.000001'), at(5, 'b.000002'))).toBe(false);
    expect(reached(at(5, 'b.1000000'), at(5, 'b.999999'))).toBe(true);
    expect(reached(at(7), at(7))).toBe(true);
    expect(reached(at(6), at(7))).toBe(false);
    expect(reached(null, at(7))).toBe(false);
  });
});
