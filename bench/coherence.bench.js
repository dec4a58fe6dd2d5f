// Issue 5: how fast change capture invalidates after a hand-written DELETE commits, and what
// leased fills prevent under contention. Against dist/ (npm run bench builds first), on a MariaDB
// with the binlog on and a redis-server, both of its own (bench/coherence-servers.js).
//  1. 1,000 single-row `DELETE FROM app_users WHERE id = ?`, one after another: time from the
//     DELETE's acknowledgement to Redis reporting the row key unlinked (keyspace notification).
//  2. One `DELETE` of 10,000 rows: time from its acknowledgement to the last of its row keys gone.
//  3. Stress: readers and writers on the same rows, database latency injected between a reader's
//     read and its fill; stale entries counted at the end of each round, with leases and without.
// Prints a markdown section. Bounded: about a minute on 2 cores.
'use strict';
const path = require('path');
const Redis = require('ioredis');
const mysql = require('mysql2/promise');
const { percentile, startServer, ROOT } = require('./lib');
const { startBinlogMariaDb, startRedis } = require('./coherence-servers');

const SINGLE = Number(process.env.BENCH_COHERENCE_SINGLE || 1000);
const BULK = Number(process.env.BENCH_COHERENCE_BULK || 10000);
const ROUNDS = Number(process.env.BENCH_COHERENCE_ROUNDS || 20);
const DB_NAME = 'hi_bench_coherence';
const dist = (p) => require(path.join(ROOT, 'dist', p));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ms = (ns) => Number(ns) / 1e6;
const fmt = (x) => (Number.isFinite(x) ? x.toFixed(1) : String(x));

async function insertUsers(sql, n, tag) {
  const ids = [];
  for (let i = 0; i < n; i += 1000) {
    const rows = [];
    for (let j = i; j < Math.min(n, i + 1000); j += 1) rows.push([`${tag}${String(j).padStart(7, '0')}`, `${tag}${j}`.slice(-16)]);
    const [res] = await sql.query('INSERT INTO app_users (phone, refer_code) VALUES ?', [rows]);
    for (let k = 0; k < rows.length; k += 1) ids.push(res.insertId + k);
  }
  return ids;
}

async function caughtUp(url) {
  for (let i = 0; i < 100; i += 1) {
    const health = await fetch(`${url}/health`).then((r) => r.json());
    const cdc = health.data?.info?.cdc;
    if (cdc?.role === 'leader' && cdc.connected && cdc.bytesBehind === 0) return;
    await sleep(200);
  }
  throw new Error('change capture did not catch up');
}

async function cacheRows(redis, ids) {
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.set(`cache:appUsers:id:${id}`, '{}', 'EX', 3600);
  await pipeline.exec();
}

/** Resolves, per id, at the moment Redis reports `cache:appUsers:id:{id}` deleted. */
function unlinkWatcher(sub) {
  const waiting = new Map();
  const seen = new Map();
  sub.on('pmessage', (_pattern, channel, event) => {
    if (event !== 'del') return;
    const at = process.hrtime.bigint();
    const id = channel.slice(channel.lastIndexOf(':') + 1);
    seen.set(id, at);
    waiting.get(id)?.(at);
  });
  return {
    seen,
    next: (id) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no invalidation of user ${id} within 5 s`)), 5000);
        waiting.set(String(id), (at) => {
          clearTimeout(t);
          waiting.delete(String(id));
          resolve(at);
        });
      }),
  };
}

async function latencies(env, redisPort, db) {
  const server = await startServer({ ...env, CDC_MODE: 'binlog', CDC_HEARTBEAT_SECONDS: '1', LOG_LEVEL: 'warn' });
  const sql = await mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, database: DB_NAME });
  const redis = new Redis({ port: redisPort });
  const sub = new Redis({ port: redisPort });
  try {
    await sub.psubscribe('__keyspace@0__:cache:appUsers:id:*');
    const watcher = unlinkWatcher(sub);

    const ids = await insertUsers(sql, SINGLE, 's');
    await caughtUp(server.url);
    await cacheRows(redis, ids);
    const single = [];
    for (const id of ids) {
      const gone = watcher.next(id);
      await sql.query('DELETE FROM app_users WHERE id = ?', [id]);
      const acked = process.hrtime.bigint();
      const at = await gone;
      single.push(Math.max(0, ms(at - acked)));
    }
    single.sort((a, b) => a - b);

    const bulkIds = await insertUsers(sql, BULK, 'b');
    await caughtUp(server.url);
    await cacheRows(redis, bulkIds);
    watcher.seen.clear();
    const last = watcher.next(bulkIds[bulkIds.length - 1]);
    const started = process.hrtime.bigint();
    await sql.query('DELETE FROM app_users WHERE id BETWEEN ? AND ?', [bulkIds[0], bulkIds[bulkIds.length - 1]]);
    const acked = process.hrtime.bigint();
    await last;
    for (let i = 0; i < 100 && watcher.seen.size < bulkIds.length; i += 1) await sleep(10);
    const times = [...watcher.seen.values()];
    const lastAt = times.reduce((a, b) => (a > b ? a : b), 0n);
    const remaining = await redis.exists(...bulkIds.slice(0, 1000).map((id) => `cache:appUsers:id:${id}`));
    return {
      single,
      bulk: { statementMs: ms(acked - started), lastMs: ms(lastAt - acked), seen: watcher.seen.size, remaining },
    };
  } finally {
    sub.disconnect();
    redis.disconnect();
    await sql.end();
    await server.stop();
  }
}

/** Readers and writers on the same rows; returns the stale entries left per round, summed. */
async function stress(env, leases) {
  const { createApp } = dist('app.factory');
  const { loadConfig } = dist('config/app-config');
  const { CacheAsideService } = dist('cache/cache-aside.service');
  const { AppUser } = dist('app-user/app-user.entity');
  const { AppUserRepository } = dist('app-user/app-user.repository');
  const { jsonCodec } = dist('cache/row-codec');
  const { DataSource } = require('typeorm');
  const app = await createApp(loadConfig({ ...env, CDC_MODE: 'off', LOG_LEVEL: 'silent' }), { logger: false });
  await app.init();
  const cache = app.get(CacheAsideService);
  cache.leases = leases;
  const repo = app.get(DataSource).getRepository(AppUser);
  const users = app.get(AppUserRepository);
  const redis = new Redis({ port: Number(env.REDIS_PORT) });
  const codec = jsonCodec('appUsers', AppUser);
  const sql = await mysql.createConnection({ host: env.DB_HOST, port: Number(env.DB_PORT), user: env.DB_USER, password: env.DB_PASSWORD, database: DB_NAME });
  const ids = await insertUsers(sql, 20, leases ? 'l' : 'n');
  let stale = 0;
  let reads = 0;
  let writes = 0;
  try {
    for (let round = 0; round < ROUNDS; round += 1) {
      const until = Date.now() + 150;
      const reader = async () => {
        while (Date.now() < until) {
          const id = ids[Math.floor(Math.random() * ids.length)];
          await cache.getRow(`cache:appUsers:id:${id}`, codec, async () => {
            const row = await repo.findOneBy({ id });
            await sleep(Math.random() * 4); // the database answered slowly: the row is already old
            return row;
          });
          reads += 1;
        }
      };
      const writer = async () => {
        while (Date.now() < until) {
          const row = await repo.findOneByOrFail({ id: ids[Math.floor(Math.random() * ids.length)] });
          row.nickname = `r${round}w${(writes += 1)}`;
          await sleep(Math.random() * 2);
          await users.save(row); // commits, then invalidates after commit
        }
      };
      await Promise.all([...Array.from({ length: 12 }, reader), ...Array.from({ length: 3 }, writer)]);
      await sleep(50);
      for (const id of ids) {
        const cached = await redis.get(`cache:appUsers:id:${id}`);
        if (cached === null || cached === '*') continue;
        const truth = await repo.findOneByOrFail({ id });
        if (JSON.parse(cached).nickname !== truth.nickname) stale += 1;
      }
      await redis.unlink(...ids.map((id) => `cache:appUsers:id:${id}`));
    }
  } finally {
    redis.disconnect();
    await sql.end();
    await app.close();
  }
  return { stale, reads, writes };
}

async function main() {
  const db = await startBinlogMariaDb();
  const redis = await startRedis();
  const env = {
    DB_HOST: db.host,
    DB_PORT: String(db.port),
    DB_USER: db.user,
    DB_PASSWORD: db.password,
    DB_NAME,
    REDIS_HOST: redis.host,
    REDIS_PORT: String(redis.port),
    REDIS_DB: '0',
    AUTH_RATE_LIMIT_PER_MINUTE: '0',
    LOGIN_FAILURES_PER_PHONE: '0',
    LOGIN_FAILURES_PER_PHONE_ALL_ADDRESSES: '0',
    EMAIL_BIND_ATTEMPTS_PER_HOUR: '0',
    EMAIL_CODE_COOLDOWN_SECONDS: '0',
  };
  try {
    const { single, bulk } = await latencies(env, redis.port, db);
    const withLeases = await stress(env, true);
    const without = await stress(env, false);
    const p50 = percentile(single, 50);
    const p99 = percentile(single, 99);
    const lines = [
      '## Coherence: change capture latency and leased fills (issue 5)',
      '',
      `MariaDB with the binlog on and a redis-server, both the benchmark's own; the server (dist/main.js) runs CDC_MODE=binlog; times from the DELETE's acknowledgement to Redis reporting the key unlinked.`,
      '',
      '| measure | result | target |',
      '|---|---|---|',
      `| ${SINGLE} single-row direct DELETEs: commit to invalidation p50 / p99 / max | ${fmt(p50)} / ${fmt(p99)} / ${fmt(single[single.length - 1])} ms | p99 ≤ 20 ms ${p99 <= 20 ? '✓' : '✗'} |`,
      `| one DELETE of ${BULK} rows: commit to last row key invalidated | ${fmt(bulk.lastMs)} ms (statement itself ${fmt(bulk.statementMs)} ms; ${bulk.seen} keys seen, ${bulk.remaining} of the first 1,000 left) | ≤ 250 ms ${bulk.lastMs <= 250 ? '✓' : '✗'} |`,
      `| stress, ${ROUNDS} rounds × 150 ms, 12 readers + 3 writers on 20 rows, 0-4 ms injected between read and fill: stale entries left, leases on | ${withLeases.stale} (${withLeases.reads} reads, ${withLeases.writes} writes) | 0 ${withLeases.stale === 0 ? '✓' : '✗'} |`,
      `| the same with leases off | ${without.stale} (${without.reads} reads, ${without.writes} writes) | (shows what leases prevent) |`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    await redis.stop();
    await db.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`coherence bench failed: ${err.stack}\n`);
    process.exit(1);
  },
);
