// Issue 15: the service on a Redis Cluster (3 masters, 3 replicas, started by the bench from the
// machine's redis-server) beside the service on a single Redis, in one run: GET /me throughput
// and CPU per request, kick latency with one and two processes; then clearing 1,000,000 cache keys
// spread over the 3 masters (among 1,000,000 others) with our CLI against the seed's
// `redis-cli --scan | xargs redis-cli del`, run against each master. Prints a markdown section.
'use strict';
require('ts-node').register({ transpileOnly: true, compilerOptions: { module: 'commonjs' } });
const { spawn } = require('child_process');
const path = require('path');
const Redis = require('ioredis');
const calculateSlot = require('cluster-key-slot');
const { createWorld, kickLatencies, measure, median, percentile, post, ROOT } = require('./lib');
const { startRedisCluster } = require('../test/support/redis-cluster');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const KICKS = Number(process.env.BENCH_KICKS ?? 100);
const TARGET = Number(process.env.BENCH_CACHE_KEYS ?? 1_000_000);
const OTHERS = Number(process.env.BENCH_OTHER_KEYS ?? 1_000_000);
const CLI = path.join(ROOT, 'dist', 'cli', 'cache.cli.js');

function sh(command, args, env = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
  });
}

async function token(server) {
  const phone = `1${Date.now().toString().slice(-10)}`;
  const reg = await post(server.url, '/auth/register', { phone, password: 'bench-password', identifier: `bench-${phone}` });
  if (reg.status !== 201) throw new Error(`register: ${JSON.stringify(reg.body)}`);
  const me = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${reg.body.data.token}` } });
  if (me.status !== 200) throw new Error(`GET /me: ${me.status}`);
  return reg.body.data.token;
}

/** The masters of the cluster and which of them serves each slot. */
async function topology(cluster) {
  const client = new Redis({ host: cluster.nodes[0].host, port: cluster.nodes[0].port });
  const slots = await client.cluster('SLOTS');
  client.disconnect();
  const bySlot = new Array(16384);
  const masters = [];
  for (const [from, to, [, port]] of slots) {
    if (!masters.includes(port)) masters.push(port);
    for (let slot = from; slot <= to; slot += 1) bySlot[slot] = port;
  }
  return { masters, bySlot };
}

/** `TARGET` cache:appUsers keys and `OTHERS` others, each written to the master of its slot. */
async function load(cluster) {
  const { masters, bySlot } = await topology(cluster);
  const clients = new Map(masters.map((port) => [port, new Redis({ host: '127.0.0.1', port })]));
  for (const client of clients.values()) await client.flushall();
  const value = 'x'.repeat(120);
  const names = function* () {
    for (let i = 0; i < TARGET / 2; i += 1) yield `cache:appUsers:id:${i}`;
    for (let i = 0; i < TARGET / 2; i += 1) yield `cache:appUsers:phone:1${String(i).padStart(10, '0')}`;
    for (let i = 0; i < OTHERS / 2; i += 1) yield `session:${i}`;
    for (let i = 0; i < OTHERS / 2; i += 1) yield `cache:oaUsers:id:${i}`;
  };
  let pipelines = new Map();
  let pending = 0;
  const flush = async () => {
    await Promise.all([...pipelines.values()].map((p) => p.exec()));
    pipelines = new Map();
    pending = 0;
  };
  for (const key of names()) {
    const port = bySlot[calculateSlot(key)];
    if (!pipelines.has(port)) pipelines.set(port, clients.get(port).pipeline());
    pipelines.get(port).set(key, value);
    if (++pending >= 20_000) await flush();
  }
  await flush();
  const sizes = await Promise.all([...clients.values()].map((c) => c.dbsize()));
  for (const client of clients.values()) client.disconnect();
  if (sizes.reduce((a, b) => a + b, 0) !== TARGET + OTHERS) throw new Error(`loaded ${sizes} keys, expected ${TARGET + OTHERS}`);
  return { masters, sizes };
}

async function count(masters, pattern) {
  let n = 0;
  for (const port of masters) {
    const client = new Redis({ host: '127.0.0.1', port });
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
      cursor = next;
      n += keys.length;
    } while (cursor !== '0');
    client.disconnect();
  }
  return n;
}

const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const row = (label, s) => `| ${label} | ${s.length} | ${percentile(s, 50).toFixed(1)} | ${percentile(s, 99).toFixed(1)} |`;

async function main() {
  const cluster = await startRedisCluster();
  const single = await createWorld('cluster_single');
  const onCluster = await createWorld('cluster_cluster', { redisCluster: cluster.nodeList });
  try {
    const s1 = await single.start();
    const s2 = await single.start();
    const c1 = await onCluster.start();
    const c2 = await onCluster.start();
    const tokens = { single: await token(s1), cluster: await token(c1) };

    // GET /me, cache hit, rounds interleaved as in api.bench.js.
    const run = (server, t) => measure(server, '/me', t, { seconds: SECONDS });
    await run(s1, tokens.single);
    await run(c1, tokens.cluster);
    const rounds = [];
    for (let r = 0; r < ROUNDS; r += 1) {
      const order = r % 2 === 0 ? ['single', 'cluster'] : ['cluster', 'single'];
      const result = {};
      for (const name of order) result[name] = await run(name === 'single' ? s1 : c1, tokens[name]);
      rounds.push(result);
    }
    const at = (name, key) => median(rounds.map((r) => r[name][key]));

    const kicks = {
      single1: await kickLatencies(s1.url, s1.url, s1.url, 'single-one', KICKS),
      single2: await kickLatencies(s1.url, s2.url, s1.url, 'single-two', KICKS),
      cluster1: await kickLatencies(c1.url, c1.url, c1.url, 'cluster-one', KICKS),
      cluster2: await kickLatencies(c1.url, c2.url, c1.url, 'cluster-two', KICKS),
    };
    await single.close();
    await onCluster.close();

    // Cache clear over the three masters.
    const env = { REDIS_CLUSTER_NODES: cluster.nodeList, REDIS_PASSWORD: '' };
    const loaded = await load(cluster);
    const ours = await sh(process.execPath, [CLI, '--json', 'all', '--scope', 'appUsers'], env);
    if (ours.code !== 0) throw new Error(`cache CLI failed: ${ours.stderr}`);
    const oursLeft = await count(loaded.masters, 'cache:appUsers:*');
    const othersAfterOurs = await count(loaded.masters, '*');

    await load(cluster);
    // The seed's pipeline, once per master, the three at once: a DEL of many keys in several
    // slots is refused there (CROSSSLOT), so most batches fail and their keys stay.
    const seedPipeline = (port) => `redis-cli -p ${port} --scan --pattern 'cache:appUsers:*' | xargs redis-cli -p ${port} del 2>&1 | grep -c CROSSSLOT || true`;
    const seedStarted = process.hrtime.bigint();
    const seedRuns = await Promise.all(loaded.masters.map((port) => sh('bash', ['-c', seedPipeline(port)])));
    const seedMs = Number(process.hrtime.bigint() - seedStarted) / 1e6;
    const seedRefused = seedRuns.reduce((n, r) => n + Number(r.stdout.trim() || 0), 0);
    const seedLeft = await count(loaded.masters, 'cache:appUsers:*');

    await load(cluster);
    // What works against a cluster master by hand: one DEL per key (xargs -n 1 would spawn a million
    // processes; redis-cli reading one command per line from stdin is the fast form of the same).
    const perKey = (port) => `redis-cli -p ${port} --scan --pattern 'cache:appUsers:*' | sed 's/^/DEL /' | redis-cli -p ${port} > /dev/null`;
    const perKeyStarted = process.hrtime.bigint();
    await Promise.all(loaded.masters.map((port) => sh('bash', ['-c', perKey(port)])));
    const perKeyMs = Number(process.hrtime.bigint() - perKeyStarted) / 1e6;
    const perKeyLeft = await count(loaded.masters, 'cache:appUsers:*');

    console.log('## Redis Cluster beside a single Redis (bench/cluster.bench.js)');
    console.log('');
    console.log(`The same build, one run: a Redis Cluster of 3 masters and 3 replicas (cluster-node-timeout 2 s) and the machine's single Redis;`);
    console.log(`GET /me (cache hit) in ${ROUNDS} interleaved rounds of ${SECONDS} s, 50 connections, medians.`);
    console.log('');
    console.log('| GET /me, cache hit | req/s | server CPU µs/request | p99 ms |');
    console.log('|---|---:|---:|---:|');
    console.log(`| single Redis | ${at('single', 'rps').toFixed(0)} | ${at('single', 'cpu').toFixed(0)} | ${at('single', 'p99').toFixed(0)} |`);
    console.log(`| Redis Cluster | ${at('cluster', 'rps').toFixed(0)} | ${at('cluster', 'cpu').toFixed(0)} | ${at('cluster', 'p99').toFixed(0)} |`);
    console.log('');
    console.log(
      `Per-round req/s: single ${rounds.map((r) => r.single.rps.toFixed(0)).join(', ')}; cluster ${rounds.map((r) => r.cluster.rps.toFixed(0)).join(', ')}.`,
    );
    console.log('');
    console.log('| kick latency (logout request to socket closed) | kicks | p50 ms | p99 ms |');
    console.log('|---|---:|---:|---:|');
    console.log(row('single Redis, one process', kicks.single1));
    console.log(row('single Redis, two processes (socket on 2, request to 1)', kicks.single2));
    console.log(row('Redis Cluster, one process', kicks.cluster1));
    console.log(row('Redis Cluster, two processes (sharded adapter)', kicks.cluster2));
    console.log('');
    console.log(
      `Cache clear: ${TARGET.toLocaleString('en')} \`cache:appUsers:*\` keys among ${OTHERS.toLocaleString('en')} others, spread over 3 masters (${loaded.sizes.join(', ')} keys).`,
    );
    console.log('');
    console.log('| | wall time | `cache:appUsers:*` keys left | others kept |');
    console.log('|---|---:|---:|---|');
    console.log(
      `| \`npm run cache -- all --scope appUsers\` (REDIS_CLUSTER_NODES) | ${fmt(ours.ms)} | ${oursLeft} | ${othersAfterOurs === OTHERS ? 'all' : othersAfterOurs} |`,
    );
    console.log(
      `| \`redis-cli -p M --scan --pattern 'cache:appUsers:*' \\| xargs redis-cli -p M del\`, each master at once | ${fmt(seedMs)} | ${seedLeft} (${seedRefused} DELs refused: CROSSSLOT) | all |`,
    );
    console.log(`| the same with one \`DEL\` per key (\`sed 's/^/DEL /' \\| redis-cli -p M\`), each master at once | ${fmt(perKeyMs)} | ${perKeyLeft} | all |`);
    console.log('');
    console.log(`Speed-up against the per-key form that works: **${(perKeyMs / ours.ms).toFixed(1)}x**.`);
  } finally {
    await single.close().catch(() => undefined);
    await onCluster.close().catch(() => undefined);
    await cluster.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
