// Issue 4: clearing 1,000,000 `cache:appUsers:*` keys stored among 1,000,000 other keys, with our
// CLI (`node dist/cli/cache.cli.js all --scope appUsers`, the same code as DELETE /admin/cache)
// against the seed's `redis-cli --scan --pattern 'cache:appUsers:*' | xargs redis-cli del`, and a
// second client's GET latency while each runs. Uses a redis-server of its own on a free port in a
// temporary directory (never the machine's Redis), stopped at the end. Prints a markdown section.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Worker } = require('worker_threads');
const Redis = require('ioredis');
const { freePort } = require('./lib');

const ROOT = path.join(__dirname, '..');
const CLI = process.env.BENCH_CACHE_CLI || path.join(ROOT, 'dist', 'cli', 'cache.cli.js');
/** SCAN COUNT per step of our clear; unset uses the CLI's default. */
const BATCH = process.env.BENCH_CACHE_BATCH;
const TARGET = Number(process.env.BENCH_CACHE_KEYS || 1_000_000);
const OTHERS = Number(process.env.BENCH_OTHER_KEYS || 1_000_000);
const VALUE_BYTES = 120;
/** The second client sends a GET, waits for it, sleeps this long, and so on. */
const PROBE_PACE_MS = 0.25;

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

async function startRedis() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hi-bench-redis-'));
  const port = await freePort();
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--enable-debug-command', 'yes', '--maxmemory', '0'],
    { stdio: 'ignore' },
  );
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => 100, maxRetriesPerRequest: null });
  client.on('error', () => undefined); // SHUTDOWN at the end closes it under our feet
  for (let attempt = 0; ; attempt += 1) {
    try {
      await client.connect();
      await client.ping();
      break;
    } catch (err) {
      if (attempt > 50) throw new Error(`redis-server on ${port} did not start: ${err.message}`, { cause: err });
      client.disconnect();
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const version = /redis_version:(\S+)/.exec(await client.info('server'))[1];
  const stop = async () => {
    await client.shutdown('NOSAVE').catch(() => undefined);
    client.disconnect();
    await new Promise((r) => (server.exitCode !== null ? r() : server.once('exit', r)));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { port, client, version, stop };
}

/** 1M target keys (rows and phone indexes) among 1M others (sessions, device sessions, staff rows). */
async function load(redis) {
  await redis.flushall();
  const populate = async (count, prefix) => redis.call('DEBUG', 'POPULATE', count, prefix, VALUE_BYTES);
  await populate(TARGET / 2, 'cache:appUsers:id');
  await populate(TARGET / 2, 'cache:appUsers:phone');
  await populate(OTHERS / 2, 'session');
  await populate(OTHERS * 0.3, 'device:session');
  await populate(OTHERS * 0.2, 'cache:oaUsers:id');
  const size = await redis.dbsize();
  if (size !== TARGET + OTHERS) throw new Error(`loaded ${size} keys, expected ${TARGET + OTHERS}`);
}

async function countMatching(redis, pattern) {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
    cursor = next;
    n += keys.length;
  } while (cursor !== '0');
  return n;
}

/** Runs `work` while a second client GETs in a loop; answers the work's result and the latencies. */
async function withProbe(port, work) {
  const worker = new Worker(path.join(__dirname, 'cache-clear.probe.js'), { workerData: { port, keys: OTHERS / 2, paceMs: PROBE_PACE_MS } });
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const result = await work();
  const samples = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.postMessage('stop');
  });
  await worker.terminate();
  return { result, latency: stats(samples) };
}

function stats(samples) {
  const sorted = Float64Array.from(samples).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] };
}

const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const lat = (l) => `p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, max ${l.max.toFixed(1)} ms (${l.n} GETs)`;

async function main() {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const redis = await startRedis();
  try {
    const env = { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redis.port), REDIS_DB: '0', REDIS_PASSWORD: '' };

    await load(redis.client);
    const idle = await withProbe(redis.port, () => new Promise((r) => setTimeout(r, 2000)));

    await load(redis.client);
    const ours = await withProbe(redis.port, () =>
      sh(process.execPath, [CLI, '--json', 'all', '--scope', 'appUsers', ...(BATCH ? ['--batch', BATCH] : [])], env),
    );
    if (ours.result.code !== 0) throw new Error(`cache CLI failed: ${ours.result.stderr}`);
    const oursDeleted = JSON.parse(ours.result.stdout).deleted;
    const oursLeft = await countMatching(redis.client, 'cache:appUsers:*');
    const othersAfterOurs = await redis.client.dbsize();

    await load(redis.client);
    const pipeline = `redis-cli -p ${redis.port} --scan --pattern 'cache:appUsers:*' | xargs redis-cli -p ${redis.port} del > /dev/null`;
    const seed = await withProbe(redis.port, () => sh('bash', ['-c', pipeline]));
    if (seed.result.code !== 0) throw new Error(`shell pipeline failed: ${seed.result.stderr}`);
    const seedLeft = await countMatching(redis.client, 'cache:appUsers:*');
    const othersAfterSeed = await redis.client.dbsize();

    const ratio = seed.result.ms / ours.result.ms;
    const ok = oursDeleted === TARGET && oursLeft === 0 && othersAfterOurs === OTHERS;
    const lines = [
      '## Cache clear (issue 4): `npm run cache -- all --scope appUsers` vs `redis-cli --scan | xargs redis-cli del`',
      '',
      `${TARGET.toLocaleString('en')} \`cache:appUsers:*\` keys among ${OTHERS.toLocaleString('en')} other keys (values ${VALUE_BYTES} B), ` +
        `redis-server ${redis.version} of the benchmark's own, ${os.cpus().length} CPU(s) (${os.cpus()[0]?.model ?? 'unknown'}). ` +
        'Wall time includes process start-up for both.',
      '',
      `| | wall time | keys left matching | other keys kept | second client's GET latency during the run (one GET, then ${PROBE_PACE_MS} ms pause) |`,
      '|---|---|---|---|---|',
      `| hi-server CLI (${BATCH ? `--batch ${BATCH}` : 'default batch'}) | ${fmt(ours.result.ms)} | ${oursLeft} | ${othersAfterOurs} | ${lat(ours.latency)} |`,
      `| seed pipeline (redis-cli --scan \\| xargs del) | ${fmt(seed.result.ms)} | ${seedLeft} | ${othersAfterSeed} | ${lat(seed.latency)} |`,
      `| idle Redis, for reference | - | - | - | ${lat(idle.latency)} |`,
      '',
      `Speed-up: **${ratio.toFixed(1)}x** (target at least 5x). GET p99 during our clear: **${ours.latency.p99.toFixed(2)} ms** (target at most 5 ms).` +
        (ok ? '' : ' **The clear did not delete exactly the target keys.**'),
      '',
    ];
    process.stdout.write(lines.join('\n') + '\n');
    if (!ok) process.exitCode = 1;
  } finally {
    await redis.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`cache-clear bench failed: ${err.stack || err}\n`);
  process.exit(1);
});
