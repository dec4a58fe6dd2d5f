import Redis, { Cluster } from 'ioredis';

/**
 * The Redis a test reads and writes behind the service's back: a db of the machine's Redis, or a
 * Redis Cluster client that answers the few multi-key commands tests use (KEYS, EXISTS, MSET,
 * DEL over several slots) key by key, across every master. Typed as a plain client either way.
 */
export type TestRedis = Redis & { flushAllMasters(): Promise<void> };

/** The Redis Cluster of this jest worker when the cluster tier runs (HI_TEST_REDIS=cluster). */
export function clusterOfThisWorker(): string | undefined {
  if (process.env.HI_TEST_REDIS !== 'cluster') return undefined;
  const clusters = (process.env.HI_TEST_REDIS_CLUSTERS ?? '').split(';').filter(Boolean);
  if (clusters.length === 0) throw new Error('HI_TEST_REDIS=cluster but no cluster was started (jest globalSetup test/support/cluster-global-setup.ts)');
  const worker = Number(process.env.JEST_WORKER_ID ?? '1');
  return clusters[(worker - 1) % clusters.length];
}

export async function testRedisClient(target: { cluster: string } | { host: string; port: number; db: number }): Promise<TestRedis> {
  if (!('cluster' in target)) {
    const redis = new Redis({ host: target.host, port: target.port, db: target.db });
    return Object.assign(redis, { flushAllMasters: async () => void (await redis.flushdb()) });
  }
  const nodes = target.cluster.split(',').map((node) => ({ host: node.split(':')[0], port: Number(node.split(':')[1]) }));
  const cluster = new Cluster(nodes, { scaleReads: 'master', slotsRefreshInterval: 1000 });
  cluster.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    cluster.once('ready', resolve);
    cluster.once('end', () => reject(new Error('the test cluster did not answer')));
  });
  const masters = () => cluster.nodes('master');
  const perKey = (keys: unknown[]) => keys.flat().map(String);
  const overrides: Record<string, unknown> = {
    keys: async (pattern: string) => [...new Set((await Promise.all(masters().map((node) => node.keys(pattern)))).flat())],
    exists: async (...keys: unknown[]) => (await Promise.all(perKey(keys).map((key) => cluster.exists(key)))).reduce((a, b) => a + b, 0),
    del: async (...keys: unknown[]) => (await Promise.all(perKey(keys).map((key) => cluster.del(key)))).reduce((a, b) => a + b, 0),
    unlink: async (...keys: unknown[]) => (await Promise.all(perKey(keys).map((key) => cluster.unlink(key)))).reduce((a, b) => a + b, 0),
    mset: async (...args: unknown[]) => {
      const pairs = args.length === 1 && typeof args[0] === 'object' ? Object.entries(args[0] as Record<string, string>).flat() : args.flat().map(String);
      for (let i = 0; i < pairs.length; i += 2) await cluster.set(String(pairs[i]), String(pairs[i + 1]));
      return 'OK';
    },
    info: (section?: string) => (section ? masters()[0].info(section) : masters()[0].info()),
    flushdb: async () => void (await Promise.all(masters().map((node) => node.flushall()))),
    flushAllMasters: async () => void (await Promise.all(masters().map((node) => node.flushall()))),
  };
  return new Proxy(cluster, {
    get(target, property, receiver) {
      if (typeof property === 'string' && property in overrides) return overrides[property];
      const value = Reflect.get(target, property, receiver);
      // Methods come bound to the client; one a test put on it (jest.spyOn) comes as it is.
      return typeof value === 'function' && !Object.prototype.hasOwnProperty.call(target, property) ? value.bind(target) : value;
    },
  }) as unknown as TestRedis;
}
