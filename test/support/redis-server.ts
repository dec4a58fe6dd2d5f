import Redis from 'ioredis';
import { findBinary, freePort, removeDir, spawnServer, tempDir, waitFor } from './spawned-server';

export interface OwnRedis {
  host: string;
  port: number;
  /** Stops the server; data is not kept (an outage that also loses the cache, the worst case). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty unless `keepData` was used with a dump. */
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  destroy(): Promise<void>;
}

/**
 * A redis-server of the test's own on a free port, so that an outage can be staged without
 * touching the machine's Redis. With `persist`, it saves an RDB on shutdown and loads it on start,
 * i.e. Redis comes back with the cache it had, stale entries included.
 */
export async function startRedisServer(options: { persist?: boolean } = {}): Promise<OwnRedis> {
  const binary = findBinary([process.env.REDIS_SERVER ?? 'redis-server', '/usr/bin/redis-server']);
  const dir = tempDir('hi-redis');
  const port = await freePort();
  let current: ReturnType<typeof spawnServer> | undefined;
  const own: OwnRedis = {
    host: '127.0.0.1',
    port,
    start: async () => {
      current = spawnServer(binary, [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        options.persist ? '3600 1' : '',
        '--appendonly',
        'no',
        '--protected-mode',
        'no',
        '--daemonize',
        'no',
      ]);
      const started = current;
      await waitFor(`redis-server on port ${port}`, async () => {
        if (started.child.exitCode !== null) throw new Error('exited');
        const probe = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        probe.on('error', () => undefined);
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG';
        } finally {
          // A refused probe has ended already: disconnect() would arm ioredis's 2 s timer to
          // destroy its dead socket, holding the test process that long after its last test.
          if (probe.status !== 'end') probe.disconnect();
        }
      });
    },
    stop: async () => {
      await current?.stop();
      current = undefined;
    },
    destroy: async () => {
      await own.stop();
      removeDir(dir);
    },
  };
  await own.start();
  return own;
}
