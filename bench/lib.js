// Shared plumbing for the benchmarks: a private database, a claimed Redis db, server processes.
'use strict';
const { spawn } = require('child_process');
const { randomBytes } = require('crypto');
const net = require('net');
const path = require('path');
const Redis = require('ioredis');
const mysql = require('mysql2/promise');

const ROOT = path.join(__dirname, '..');
const DB = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Same claim protocol as test/support/redis-db.ts: dbs 1-14, claims in db 15, never db 0. */
async function claimRedisDb() {
  const locks = new Redis({ db: 15 });
  const token = randomBytes(8).toString('hex');
  try {
    for (let attempt = 0; attempt < 600; attempt += 1) {
      for (let db = 14; db >= 1; db -= 1) {
        if ((await locks.set(`hi-test:redis-db:${db}`, token, 'EX', 3600, 'NX')) !== 'OK') continue;
        const client = new Redis({ db });
        await client.flushdb();
        return {
          db,
          client,
          release: async () => {
            await client.flushdb();
            await client.quit();
            const relock = new Redis({ db: 15 });
            if ((await relock.get(`hi-test:redis-db:${db}`)) === token) await relock.del(`hi-test:redis-db:${db}`);
            await relock.quit();
          },
        };
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error('no free Redis db');
  } finally {
    await locks.quit();
  }
}

async function dropDatabase(name) {
  const conn = await mysql.createConnection(DB);
  await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await conn.end();
}

/**
 * Starts the built server (dist/main.js) as its own process and waits until it answers; `script`
 * and `readyPath` start another server (bench/bare-reference.js) under the same conditions.
 */
async function startServer(env, { script = path.join(ROOT, 'dist', 'main.js'), readyPath = '/health/live' } = {}) {
  const port = await freePort();
  // BENCH_SERVER_CPUS (e.g. "1"): the server runs on those cores only, apart from the load generator.
  const command = [process.execPath, script];
  if (process.env.BENCH_SERVER_CPUS) command.unshift('taskset', '-c', process.env.BENCH_SERVER_CPUS);
  const child = spawn(command[0], command.slice(1), {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env, PORT: String(port) },
    stdio: ['ignore', process.env.BENCH_SERVER_LOGS ? 'inherit' : 'ignore', 'pipe'],
  });
  let output = '';
  // stdout carries a JSON line per request: reading it here would load the machine under test.
  child.stderr.on('data', (c) => (output += c));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited: ${output}`);
    if (
      await fetch(`${url}${readyPath}`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error(`server did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const exited = new Promise((r) => child.once('exit', r));
  return {
    url,
    pid: child.pid,
    rssKb: () => Number(/VmRSS:\s+(\d+)/.exec(require('fs').readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]),
    stop: async () => {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * A bench world: its own database and Redis db (or, with `redisCluster`, that Redis Cluster's node
 * list, which the caller started and stops), and the env for its server processes.
 */
async function createWorld(label, { redisCluster } = {}) {
  const dbName = `hi_bench_${label}_${process.pid}`;
  const redis = redisCluster ? { db: 0, client: null, release: async () => undefined } : await claimRedisDb();
  const env = {
    DB_HOST: DB.host,
    DB_PORT: String(DB.port),
    DB_USER: DB.user,
    DB_PASSWORD: DB.password,
    DB_NAME: dbName,
    ...(redisCluster ? { REDIS_CLUSTER_NODES: redisCluster } : { REDIS_DB: String(redis.db) }),
    AUTH_RATE_LIMIT_PER_MINUTE: '0',
    LOGIN_FAILURES_PER_PHONE: '0',
    LOGIN_FAILURES_PER_PHONE_ALL_ADDRESSES: '0',
    EMAIL_BIND_ATTEMPTS_PER_HOUR: '0',
    EMAIL_CODE_COOLDOWN_SECONDS: '0',
  };
  const servers = [];
  return {
    env,
    redis: redis.client,
    start: async (overrides = {}, options) => {
      const server = await startServer({ ...env, ...overrides }, options);
      servers.push(server);
      return server;
    },
    close: async () => {
      for (const server of servers) await server.stop().catch(() => undefined);
      await dropDatabase(dbName);
      await redis.release();
    },
  };
}

async function post(url, path, body, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

/** CPU time (user + system) a process has used, in microseconds (clock ticks of 10 ms). */
function cpuMicros(pid) {
  const fields = require('fs').readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/**
 * Loads `path` of `server` with autocannon: requests/s, the server's CPU microseconds per request
 * and p99 latency (whole ms: autocannon's resolution). Any non-2xx answer fails the run.
 */
function measure(server, path, token, { connections = 50, seconds = 3 } = {}) {
  const autocannon = require('autocannon');
  const cpuBefore = cpuMicros(server.pid);
  return new Promise((resolve, reject) => {
    autocannon({ url: `${server.url}${path}`, connections, duration: seconds, headers: token ? { authorization: `Bearer ${token}` } : {} }, (err, result) => {
      if (err) return reject(err);
      if (result.non2xx > 0 || result.errors > 0) return reject(new Error(`${path}: ${result.non2xx} non-2xx, ${result.errors} errors`));
      resolve({ rps: result.requests.average, cpu: (cpuMicros(server.pid) - cpuBefore) / result.requests.total, p99: result.latency.p99 });
    });
  });
}

/** A device's socket on namespace /devices, once the server accepted it. */
function connectDevice(url, token) {
  const { io } = require('socket.io-client');
  return new Promise((resolve, reject) => {
    const socket = io(`${url}/devices`, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

/**
 * Kick latency: `count` times, a device logs in on `loginUrl`, connects to `socketUrl`, and logs
 * out through `kickUrl`; each sample is request sent to socket closed, in ms, sorted.
 */
async function kickLatencies(loginUrl, socketUrl, kickUrl, label, count) {
  const samples = [];
  for (let i = 0; i < count; i += 1) {
    const res = await post(loginUrl, '/auth/device', { identifier: `kick-${label}-${i}` });
    if (res.status !== 200) throw new Error(`device login: ${JSON.stringify(res.body)}`);
    const token = res.body.data.token;
    const socket = await connectDevice(socketUrl, token);
    const closed = new Promise((resolve) => socket.once('disconnect', resolve));
    const started = process.hrtime.bigint();
    const logout = post(kickUrl, '/auth/logout', {}, token);
    await closed;
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    await logout;
  }
  return samples.sort((a, b) => a - b);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

module.exports = { createWorld, startServer, post, percentile, median, freePort, measure, connectDevice, kickLatencies, ROOT };
