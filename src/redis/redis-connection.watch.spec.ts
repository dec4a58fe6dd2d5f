import { Logger } from '@nestjs/common';
import { EventEmitter } from 'events';
import { loadConfig } from '../config/app-config';
import type { RedisClient } from './redis-client';
import { RedisConnectionWatch } from './redis-connection.watch';

/** The events and the few commands the watch uses, under the test's control. */
class FakeRedis extends EventEmitter {
  status = 'ready';
  answers = true;
  ping = jest.fn(async () => {
    if (!this.answers) throw new Error('Command timed out');
    return 'PONG';
  });
}

class FakeCluster extends FakeRedis {
  readonly isCluster = true;
  info = 'cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\ncluster_slots_fail:0\r\ncluster_known_nodes:6\r\n';
  masters = [true, true, true];
  cluster = jest.fn(async () => {
    if (!this.answers) throw new Error("Cluster isn't ready");
    return this.info;
  });
  nodes() {
    return this.masters.map((up) => ({ ping: async () => (up ? 'PONG' : Promise.reject(new Error('ECONNREFUSED'))) }));
  }
}

describe('RedisConnectionWatch', () => {
  let lines: Array<{ level: string; line: Record<string, unknown> }>;
  beforeEach(() => {
    lines = [];
    for (const level of ['log', 'error'] as const) {
      const record = (line: unknown) => void lines.push({ level, line: line as Record<string, unknown> });
      jest.spyOn(Logger.prototype, level).mockImplementation(record as (...args: unknown[]) => void);
    }
  });
  afterEach(() => jest.restoreAllMocks());

  const watch = (redis: FakeRedis, env: Record<string, string> = {}) => {
    const watcher = new RedisConnectionWatch(redis as unknown as RedisClient, loadConfig({ REDIS_PORT: '6390', REDIS_DB: '3', ...env }));
    watcher.onApplicationBootstrap();
    return watcher;
  };

  it('one line when the connection is lost and one when it is back, whatever number of reconnect attempts between', async () => {
    const redis = new FakeRedis();
    const watcher = watch(redis);
    redis.status = 'reconnecting';
    redis.emit('error', new Error('read ECONNRESET'));
    redis.emit('close');
    for (let i = 0; i < 5; i += 1) {
      redis.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:6390'));
      redis.emit('close');
    }
    redis.answers = false;
    await watcher.probe();
    redis.status = 'ready';
    redis.answers = true;
    redis.emit('ready');
    redis.emit('ready');
    watcher.beforeApplicationShutdown();
    expect(lines).toEqual([
      {
        level: 'error',
        line: expect.objectContaining({
          dependency: 'redis',
          state: 'lost',
          target: '127.0.0.1:6390/3',
          cause: 'read ECONNRESET',
          msg: 'Redis connection lost: 127.0.0.1:6390/3 (read ECONNRESET)',
        }),
      },
      { level: 'log', line: expect.objectContaining({ dependency: 'redis', state: 'regained', target: '127.0.0.1:6390/3', downMs: expect.any(Number) }) },
    ]);
  });

  it('a server that keeps the connection but stops answering is lost until a PING is answered again', async () => {
    const redis = new FakeRedis();
    const watcher = watch(redis);
    redis.answers = false;
    await watcher.probe();
    await watcher.probe();
    redis.answers = true;
    await watcher.probe();
    watcher.beforeApplicationShutdown();
    expect(lines.map(({ line }) => [line.state, line.cause])).toEqual([
      ['lost', 'Command timed out'],
      ['regained', undefined],
    ]);
  });

  it('a shutdown closes the connection without an outage line', () => {
    const redis = new FakeRedis();
    const watcher = watch(redis);
    watcher.beforeApplicationShutdown();
    redis.status = 'end';
    redis.emit('close');
    expect(lines).toEqual([]);
  });

  it('on a cluster, one line per change of the cluster state, none while it stays as it was', async () => {
    const redis = new FakeCluster();
    const watcher = watch(redis, { REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2:7000', REDIS_DB: '0' });
    await watcher.probe(); // healthy at start: the start-up line says so already
    redis.masters = [true, false, true];
    await watcher.probe();
    await watcher.probe();
    redis.info = redis.info.replace('cluster_state:ok', 'cluster_state:fail').replace('cluster_slots_ok:16384', 'cluster_slots_ok:10923');
    await watcher.probe();
    redis.info = redis.info.replace('cluster_state:fail', 'cluster_state:ok').replace('cluster_slots_ok:10923', 'cluster_slots_ok:16384');
    redis.masters = [true, true, true];
    await watcher.probe();
    watcher.beforeApplicationShutdown();
    expect(lines.map(({ level, line }) => [level, line.clusterState, line.mastersAnswering, line.msg])).toEqual([
      ['error', 'ok', 2, 'Redis Cluster state ok: 2 of 3 masters answer, 16384 of 16384 slots ok'],
      ['error', 'fail', 2, 'Redis Cluster state fail: 2 of 3 masters answer, 10923 of 16384 slots ok'],
      ['log', 'ok', 3, 'Redis Cluster state ok: 3 of 3 masters answer, 16384 of 16384 slots ok'],
    ]);
    expect(lines.every(({ line }) => line.dependency === 'redis' && line.state === 'cluster')).toBe(true);
  });
});
