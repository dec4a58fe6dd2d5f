import { EventEmitter } from 'events';
import { loadConfig } from '../config/app-config';
import { BinlogStream, ZongJiFactory } from './binlog-stream';
import type { BinlogEvent } from './zongji.loader';

/** Stands in for zongji: the test says when the server is ready, what it sends and when it fails. */
class FakeZongJi extends EventEmitter {
  options: { filename?: string; position?: number } = {};
  gtidSet: string | undefined;
  ready = false;
  started?: Record<string, unknown>;
  stopped = false;
  start(options: Record<string, unknown>): void {
    this.started = options;
  }
  stop(): void {
    this.stopped = true;
  }
  becomeReady(): void {
    this.ready = true;
    this.emit('ready');
  }
  send(position: number): void {
    this.options = { filename: 'bin.000002', position };
    this.emit('binlog', { getEventName: () => 'xid' } as BinlogEvent);
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('BinlogStream', () => {
  const config = loadConfig({ CDC_MODE: 'binlog', DB_NAME: 'hi', CDC_SERVER_ID: '77' });
  let clients: FakeZongJi[];
  let stream: BinlogStream;
  let seen: Array<{ position: number; file: string }>;
  let errors: string[];
  const handlers = {
    event: (_: BinlogEvent, position: { file: string; position: number }) => seen.push(position),
    error: (err: Error) => errors.push(err.message),
  };

  beforeEach(() => {
    clients = [];
    seen = [];
    errors = [];
    const factory: ZongJiFactory = () => {
      const client = new FakeZongJi();
      clients.push(client);
      return client as never;
    };
    stream = new BinlogStream(factory, config);
  });
  afterEach(() => stream.close());

  it('a stream closed before the server answers ends its open at once (false), with nothing left pending', async () => {
    const opened = stream.open({ file: 'bin.000002', position: 4, gtid: null }, handlers);
    stream.close();
    expect(await Promise.race([opened, new Promise((resolve) => setTimeout(() => resolve('still pending'), 100))])).toBe(false);
    expect(errors).toEqual([]);
    expect(clients[0].stopped).toBe(true);
  });

  it('opens at a file and position, filtered to the cached tables, and hands on events with the position after each', async () => {
    const opened = stream.open({ file: 'bin.000002', position: 4, gtid: null }, handlers);
    await tick();
    expect(clients[0].started).toMatchObject({
      serverId: 77,
      filename: 'bin.000002',
      position: 4,
      includeSchema: { hi: ['app_users', 'oa_users', 'devices'] },
    });
    clients[0].becomeReady();
    expect(await opened).toBe(true);
    clients[0].send(120);
    clients[0].send(250);
    expect(seen.map((p) => p.position)).toEqual([120, 250]);
    expect(stream.isOpen).toBe(true);
  });

  it('opens at a GTID position where there is one', async () => {
    void stream.open({ file: 'bin.000002', position: 4, gtid: '0-1-9' }, handlers);
    await tick();
    expect(clients[0].started).toMatchObject({ gtidSet: '0-1-9' });
    expect(clients[0].started).not.toHaveProperty('filename');
  });

  it('a refusal while opening goes to the error handler once, and open answers false', async () => {
    const opened = stream.open({ file: 'bin.000001', position: 4, gtid: null }, handlers);
    clients[0].emit('error', new Error('Could not find first log file name in binary log index file'));
    expect(await opened).toBe(false);
    expect(errors).toEqual(['Could not find first log file name in binary log index file']);
    expect([stream.isOpen, clients[0].stopped]).toEqual([false, true]);
  });

  it('a failure after it opened closes it and is reported; nothing of a closed stream arrives', async () => {
    const opened = stream.open({ file: 'bin.000001', position: 4, gtid: null }, handlers);
    clients[0].becomeReady();
    await opened;
    clients[0].emit('error', new Error('Connection lost'));
    clients[0].send(300);
    expect(errors).toEqual(['Connection lost']);
    expect(seen).toEqual([]);
    expect(stream.isOpen).toBe(false);
  });

  it('opening again closes the previous stream first', async () => {
    const first = stream.open({ file: 'bin.000001', position: 4, gtid: null }, handlers);
    clients[0].becomeReady();
    await first;
    void stream.open({ file: 'bin.000001', position: 4, gtid: null }, handlers);
    expect(clients[0].stopped).toBe(true);
    clients[0].send(10);
    expect(seen).toEqual([]);
  });

  it('a server that never answers is given up after a while', async () => {
    jest.useFakeTimers();
    try {
      const opened = stream.open({ file: 'bin.000001', position: 4, gtid: null }, handlers);
      await jest.advanceTimersByTimeAsync(10_000);
      expect(await opened).toBe(false);
      expect(errors).toEqual(['the server did not start the stream within 10000 ms']);
    } finally {
      jest.useRealTimers();
    }
  });
});
