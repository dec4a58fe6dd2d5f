import { spawnSync } from 'child_process';
import Redis from 'ioredis';
import { createServer } from 'net';
import { join } from 'path';
import { findBinary, removeDir, spawnServer, tempDir, waitFor } from './spawned-server';

export interface ClusterNode {
  host: string;
  port: number;
}

/** A Redis Cluster of the test run's own: 3 masters, 3 replicas, on free ports of 127.0.0.1. */
export interface OwnCluster {
  nodes: ClusterNode[];
  /** What REDIS_CLUSTER_NODES takes. */
  nodeList: string;
  /** The ports of the nodes that are masters now. */
  masters(): Promise<number[]>;
  /** Kills a node at once (SIGKILL, as a crash); `restart` brings it back as it was. */
  kill(port: number): Promise<void>;
  restart(port: number): Promise<void>;
  /** Until every slot has a master that answers and every master has its replica. */
  healthy(timeoutMs?: number): Promise<void>;
  /** FLUSHALL on every master (replicas follow). */
  flushAll(): Promise<void>;
  destroy(): Promise<void>;
}

const NODE_TIMEOUT_MS = 2000;

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

function probe(port: number): Redis {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  client.on('error', () => undefined);
  return client;
}

async function ask<T>(port: number, work: (client: Redis) => Promise<T>): Promise<T> {
  const client = probe(port);
  try {
    await client.connect();
    return await work(client);
  } finally {
    client.disconnect();
  }
}

/**
 * Starts six cluster-enabled redis-servers from the machine's redis-server and joins them with
 * `redis-cli --cluster create --cluster-replicas 1`. A node that misses for two seconds is failed
 * over (cluster-node-timeout), so a failover test takes a few seconds, not a minute.
 */
export async function startRedisCluster(): Promise<OwnCluster> {
  const server = findBinary([process.env.REDIS_SERVER ?? 'redis-server', '/usr/bin/redis-server']);
  const cli = findBinary(['redis-cli', '/usr/bin/redis-cli']);
  const dir = tempDir('hi-redis-cluster');
  const ports: number[] = [];
  while (ports.length < 6) {
    // A cluster node also listens on its port + 10000 (the cluster bus). Both are taken below the
    // kernel's range for ephemeral ports (32768-60999), where freePort() picks the other test
    // servers' ports: a bus port there could be handed to another server between check and bind.
    const port = 20000 + Math.floor(Math.random() * 2700);
    if (!ports.includes(port) && (await isFree(port)) && (await isFree(port + 10000))) ports.push(port);
  }
  const processes = new Map<number, ReturnType<typeof spawnServer>>();
  const start = async (port: number) => {
    const started = spawnServer(server, [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, `nodes-${port}.conf`),
      '--cluster-node-timeout',
      String(NODE_TIMEOUT_MS),
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
      '--daemonize',
      'no',
    ]);
    processes.set(port, started);
    await waitFor(`cluster node ${port}`, async () => {
      if (started.child.exitCode !== null) throw new Error('exited');
      return (await ask(port, (c) => c.ping())) === 'PONG';
    });
  };
  await Promise.all(ports.map(start));
  const created = spawnSync(cli, ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'], {
    encoding: 'utf8',
  });
  if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);

  const masters = async (): Promise<number[]> => {
    for (const port of ports) {
      if (processes.get(port)?.child.exitCode !== null) continue;
      const text = await ask(port, (c) => c.cluster('NODES') as Promise<string>).catch(() => null);
      if (text === null) continue;
      return text
        .split('\n')
        .filter((line) => / master /.test(` ${line.split(' ')[2]?.replace(/,/g, ' ')} `) && !line.includes('fail'))
        .map((line) => Number(line.split(' ')[1].split('@')[0].split(':')[1]));
    }
    return [];
  };

  const cluster: OwnCluster = {
    nodes: ports.map((port) => ({ host: '127.0.0.1', port })),
    nodeList: ports.map((port) => `127.0.0.1:${port}`).join(','),
    masters,
    kill: async (port) => {
      const node = processes.get(port);
      if (!node || node.child.exitCode !== null) return;
      const exited = new Promise((resolve) => node.child.once('exit', resolve));
      node.child.kill('SIGKILL');
      await exited;
    },
    restart: (port) => start(port),
    healthy: async (timeoutMs = 30_000) => {
      await waitFor(
        'the Redis Cluster',
        async () => {
          const live = ports.filter((port) => processes.get(port)?.child.exitCode === null);
          const infos = await Promise.all(live.map((port) => ask(port, (c) => c.cluster('INFO') as Promise<string>)));
          const ok = infos.every((info) => /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info));
          const mastersNow = await masters();
          if (!ok || mastersNow.length !== 3) return false;
          // Every master has a replica in sync, so that a later failover has somewhere to go.
          const replicas = await Promise.all(mastersNow.map((port) => ask(port, (c) => c.info('replication'))));
          return replicas.every((info) => /connected_slaves:1/.test(info) && /state=online/.test(info));
        },
        timeoutMs,
      );
    },
    flushAll: async () => {
      for (const port of await masters()) await ask(port, (c) => c.flushall());
    },
    destroy: async () => {
      await Promise.all([...processes.values()].map((p) => p.stop()));
      removeDir(dir);
    },
  };
  await cluster.healthy();
  return cluster;
}
