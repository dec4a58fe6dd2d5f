// Issue 11: the project's own fault-injection run. `npm run faults` (builds first).
//
// Starts a MariaDB with the binlog on and a redis-server, both its own (temporary directories,
// free ports), and two server processes (dist/main.js, CDC_MODE=binlog). Drives a mixed load
// through the service (HTTP, Socket.IO) and through hand-written SQL for FAULTS_SECONDS while it
// injects, one at a time with quiet gaps: Redis SIGSTOP/SIGCONT, Redis kill -9 and restart, SIGKILL
// of a standby server, SIGKILL of the change-capture leader, KILL of the binlog dump connection.
// Then it drains and reports: operations, faults, sampled cache-vs-MySQL checks, disagreements
// lasting over 1 s / 3 s outside fault windows, stale entries at a final full audit, lost
// acknowledged writes, stale reads after an acknowledged write, zombie sessions, tokens and
// sockets (during the run and at its end). Markdown on stdout and in bench/.out/faults-latest.md;
// every finding in bench/.out/faults-latest.json.
//
// Knobs (environment): FAULTS_SECONDS (180) of load; FAULTS_KINDS (all five, comma separated,
// `none` for the load alone); FAULTS_GAP_SECONDS (12) between faults; FAULTS_PAUSE_SECONDS (4) of
// SIGSTOP; FAULTS_MARGIN_SECONDS (2) added to each fault window; FAULTS_READERS (3);
// FAULTS_RACERS (2); FAULTS_REDIS_FSYNC (always | everysec | no | none); FAULTS_SELFTEST=1 plants
// one of each finding after the load; FAULTS_KEEP=1 keeps the server and Redis logs.
//
// Exit status 0 when the run completed, whatever the service did (the report is the result);
// 1 when the harness itself failed. Everything it started is stopped and removed, on Ctrl-C too.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');
const Redis = require('ioredis');
const mysql = require('mysql2/promise');
const { ROOT } = require('./lib');
const { startBinlogMariaDb } = require('./coherence-servers');
const { onCleanup, cleanupAll, startOwnRedis, startServers, sleep } = require('./faults/infra');
const { History } = require('./faults/history');
const { Load } = require('./faults/load');
const { Sampler } = require('./faults/sampler');
const { Watcher } = require('./faults/watcher');
const { Monitor, Schedule } = require('./faults/schedule');
const final = require('./faults/final');
const { report } = require('./faults/report');
const { plant } = require('./faults/selftest');

const num = (name, dflt) => (process.env[name] === undefined || process.env[name] === '' ? dflt : Number(process.env[name]));
const CONFIG = {
  seconds: num('FAULTS_SECONDS', 180),
  warmupMs: num('FAULTS_WARMUP_SECONDS', 10) * 1000,
  gapMs: num('FAULTS_GAP_SECONDS', 12) * 1000,
  pauseMs: num('FAULTS_PAUSE_SECONDS', 4) * 1000,
  marginMs: num('FAULTS_MARGIN_SECONDS', 2) * 1000,
  drainMs: num('FAULTS_DRAIN_SECONDS', 8) * 1000,
  sqlGraceMs: num('FAULTS_SQL_GRACE_MS', 1000),
  readers: num('FAULTS_READERS', 3),
  racers: num('FAULTS_RACERS', 2),
  selftest: process.env.FAULTS_SELFTEST === '1',
  heartbeat: num('FAULTS_CDC_HEARTBEAT_SECONDS', 1),
  fsync: process.env.FAULTS_REDIS_FSYNC || 'always',
  kinds: (process.env.FAULTS_KINDS || 'redis-pause,server-kill,binlog-kill,leader-kill,redis-kill')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s && s !== 'none'),
  keep: process.env.FAULTS_KEEP === '1',
};
const GROUPS = { nickSvc: 10, nickSql: 10, statusAdmin: 6, statusSql: 6, statusMixed: 8 };
const ROAM_SVC = 12;
const ROAM_SQL = 36; // many, so that a device is seldom raced again before a zombie could be seen
const DB_NAME = 'hi_faults';
const ADMIN = { phone: '13800000000', password: 'Faults-admin-1' };

const t0 = performance.now();
const now = () => performance.now() - t0;
const log = (msg) => process.stderr.write(`[faults ${(now() / 1000).toFixed(1).padStart(6)} s] ${msg}\n`);

async function main() {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'main.js'))) throw new Error('dist/main.js is missing: run `npm run build` (or `npm run faults`, which builds)');
  for (const kind of CONFIG.kinds) if (!Schedule.prototype[kind]) throw new Error(`FAULTS_KINDS: unknown fault ${kind}`);
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hi-faults-'));
  onCleanup(async () => {
    if (CONFIG.keep) log(`logs kept in ${runDir}`);
    else fs.rmSync(runDir, { recursive: true, force: true });
  });

  log("starting a MariaDB with the binlog on and a redis-server, both the run's own");
  const db = await startBinlogMariaDb();
  onCleanup(() => db.stop());
  const redisDir = path.join(runDir, 'redis');
  fs.mkdirSync(redisDir);
  const redis = await startOwnRedis(redisDir, CONFIG.fsync);
  const env = {
    DB_HOST: db.host,
    DB_PORT: String(db.port),
    DB_USER: db.user,
    DB_PASSWORD: db.password,
    DB_NAME,
    REDIS_HOST: redis.host,
    REDIS_PORT: String(redis.port),
    REDIS_DB: '0',
    CDC_MODE: 'binlog',
    CDC_HEARTBEAT_SECONDS: String(CONFIG.heartbeat),
    ADMIN_PHONE: ADMIN.phone,
    ADMIN_PASSWORD: ADMIN.password,
    AUTH_RATE_LIMIT_PER_MINUTE: '0',
    LOGIN_FAILURES_PER_PHONE: '0',
    LOGIN_FAILURES_PER_PHONE_ALL_ADDRESSES: '0',
    EMAIL_BIND_ATTEMPTS_PER_HOUR: '0',
    EMAIL_CODE_COOLDOWN_SECONDS: '0',
    DB_POOL_SIZE: '10',
    LOG_LEVEL: process.env.FAULTS_LOG_LEVEL || 'warn',
  };
  log('starting two server processes (CDC_MODE=binlog)');
  const slots = await startServers(2, env, runDir);

  const connect = (database) => mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, database });
  const rootSql = await connect(undefined);
  const sql = await connect(DB_NAME);
  const raceSqls = [];
  for (let i = 0; i < CONFIG.racers; i += 1) raceSqls.push(await connect(DB_NAME));
  const samplerSql = await connect(DB_NAME);
  const watcherSql = await connect(DB_NAME);
  onCleanup(async () => {
    for (const c of [rootSql, sql, ...raceSqls, samplerSql, watcherSql]) await c.end().catch(() => c.destroy());
  });
  const redisClient = new Redis({ port: redis.port, maxRetriesPerRequest: 1 });
  redisClient.on('error', () => undefined);
  onCleanup(async () => redisClient.disconnect());

  const monitor = new Monitor(slots, now);
  monitor.start();
  onCleanup(() => monitor.stop());
  for (let i = 0; i < 120 && !monitor.leader(); i += 1) await sleep(250);
  if (!monitor.leader()) throw new Error('no server became the change capture leader within 30 s');

  const history = new History(CONFIG.sqlGraceMs);
  const load = new Load({ slots, sql, raceSqls, history, now, admin: ADMIN, readers: CONFIG.readers });
  onCleanup(async () => load.closeSockets());
  log('set-up: registering users and logging devices in');
  await load.setUp({ groups: GROUPS, roamSvc: ROAM_SVC, roamSql: ROAM_SQL });
  await load.recordInitialValues();

  const sampler = new Sampler({ redisPort: redis.port, sql: samplerSql, catalog: load.catalog(), now });
  await sampler.start();
  const watcher = new Watcher({ redisPort: redis.port, sql: watcherSql, load, now });
  await watcher.start();
  const schedule = new Schedule({
    redis,
    slots,
    rootSql,
    monitor,
    now,
    log,
    pauseMs: CONFIG.pauseMs,
    gapMs: CONFIG.gapMs,
    warmupMs: CONFIG.warmupMs,
    kinds: CONFIG.kinds,
  });
  onCleanup(async () => redis.resume());
  // On Ctrl-C or a failure, the load and the faults stop first, before the processes they use.
  onCleanup(async () => {
    schedule.stop();
    await load.stop();
    await sampler.stop();
    await watcher.stop();
  });

  const loadStart = now();
  const endAt = loadStart + CONFIG.seconds * 1000;
  log(`load for ${CONFIG.seconds} s, faults every ~${(CONFIG.gapMs / 1000).toFixed(0)} s: ${CONFIG.kinds.join(', ')}`);
  load.start();
  const faults = schedule.run(endAt);
  const progress = setInterval(() => {
    const total = [...load.ops.values()].reduce((n, c) => n + Object.values(c).reduce((a, b) => a + b, 0), 0);
    log(`${total} operations, ${schedule.windows.length} faults, ${sampler.checks} sampled checks, ${load.sockets.size} sockets`);
  }, 15000);
  while (now() < endAt) await sleep(200);
  schedule.stop();
  await faults;
  clearInterval(progress);
  await load.stop();
  const loadEnd = now();
  log('load stopped; draining');
  const planted = CONFIG.selftest ? await plant({ load, db, dbName: DB_NAME, log }) : [];

  // Whatever the last fault left behind is put back before the final checks.
  redis.resume();
  for (const slot of slots) if (!slot.up) await slot.start();
  const drained = await final.drain({ monitor, sql, now, timeoutMs: 60000 });
  await sleep(CONFIG.drainMs); // socket sweeps (5 s) and the last kicks
  await sampler.stop();
  await watcher.stop();

  log('final checks: audit, lost writes, zombies');
  const audit = await final.runAudit({
    REDIS_HOST: redis.host,
    REDIS_PORT: String(redis.port),
    REDIS_DB: '0',
    DB_HOST: db.host,
    DB_PORT: String(db.port),
    DB_USER: db.user,
    DB_PASSWORD: db.password,
    DB_NAME,
    LOG_LEVEL: 'silent',
  });
  const lost = history.lostWrites(await final.finalValues(sql, history));
  const sessions = await final.zombieSessions(redisClient, sql);
  const tokens = await final.zombieTokens(load, redisClient, sql);
  const sockets = await final.zombieSockets(load, redisClient, sql);
  const [[{ version }]] = await sql.query('SELECT VERSION() AS version');
  const redisVersion = /redis_version:(\S+)/.exec(await redisClient.info('server'))?.[1];

  const { markdown, details } = report({
    config: CONFIG,
    groups: GROUPS,
    roam: { svc: ROAM_SVC, sql: ROAM_SQL },
    versions: { mariadb: version, redis: redisVersion, node: process.version },
    planted,
    loadStart,
    loadEnd,
    windows: schedule.windows,
    load,
    history,
    sampler,
    watcher,
    drained,
    audit,
    lost,
    sessions,
    tokens,
    sockets,
    servers: slots.map((s) => ({ name: s.name, starts: s.starts })),
  });
  process.stdout.write(markdown);
  fs.mkdirSync(path.join(__dirname, '.out'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, '.out', 'faults-latest.md'), markdown);
  fs.writeFileSync(path.join(__dirname, '.out', 'faults-latest.json'), details); // every finding, for diagnosis
  if (load.harnessErrors.length > 0) {
    log(`${load.harnessErrors.length} harness error(s), first: ${load.harnessErrors[0]}`);
    return 1;
  }
  return 0;
}

let finishing = false;
async function finish(code) {
  if (finishing) return;
  finishing = true;
  await cleanupAll(log);
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    log(`${signal}: stopping everything`);
    void finish(130);
  });
}
// Bounded: whatever happens, the run ends.
setTimeout(
  () => {
    log('the run took far longer than planned: stopping');
    void finish(1);
  },
  (CONFIG.seconds + 420) * 1000,
).unref();

main().then(
  (code) => finish(code),
  (err) => {
    log(`fault run failed: ${err.stack}`);
    void finish(1);
  },
);
