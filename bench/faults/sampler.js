// Sampled cache-vs-MySQL checks while the run goes on. Every tick it reads a handful of cache keys
// (biased towards rows written in the last seconds) and the rows they stand for, and compares them
// as the audit does. A key that disagrees is re-checked every tick until it agrees or is gone: that
// gives how long the disagreement lasted (as observed: from the first check that saw it to the
// first that no longer did). A missing key is never a disagreement; `*` for an existing row is.
'use strict';
const Redis = require('ioredis');

const USER_COLUMNS = {
  id: 'id',
  phone: 'phone',
  email: 'email',
  nickname: 'nickname',
  passwordHash: 'password_hash',
  status: 'status',
  referCode: 'refer_code',
  referrerId: 'referrer_id',
};
const DEVICE_COLUMNS = { id: 'id', identifier: 'identifier', userId: 'user_id', name: 'name', platform: 'platform' };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];

function norm(v) {
  return v === undefined || v === null ? null : String(v);
}

/** Why a cached value disagrees with the database, or null when it does not. */
function disagreement(key, cached, db) {
  if (cached === null) return null;
  const [, family, by, ...rest] = key.split(':');
  const arg = rest.join(':');
  if (family === 'appUsers' && by === 'id') {
    const row = db.usersById.get(Number(arg));
    if (cached === '*') return row ? 'placeholder for an existing row' : null;
    if (!row) return 'cached row, no row in MySQL';
    return differs(JSON.parse(cached), row, USER_COLUMNS);
  }
  if (family === 'appUsers' && by === 'phone') {
    const row = db.usersByPhone.get(arg);
    if (cached === '*') return row ? 'placeholder for an existing phone' : null;
    if (!row) return `index -> ${cached}, no row has this phone`;
    return String(row.id) === cached ? null : `index -> ${cached}, MySQL has id ${row.id}`;
  }
  if (family === 'devices' && by === 'identifier') {
    const row = db.devices.get(arg);
    if (cached === '*') return row ? 'placeholder for an existing device' : null;
    if (!row) return 'cached device, no row in MySQL';
    return differs(JSON.parse(cached), row, DEVICE_COLUMNS);
  }
  return null;
}

function differs(cached, row, columns) {
  const bad = Object.entries(columns).filter(([prop, col]) => norm(cached[prop]) !== norm(row[col]));
  return bad.length === 0 ? null : bad.map(([prop, col]) => `${prop} cached ${JSON.stringify(cached[prop])} vs ${JSON.stringify(row[col])}`).join(', ');
}

/** Reads, in three queries, the rows behind a set of cache keys. */
async function rowsBehind(sql, keys) {
  const ids = new Set();
  const phones = new Set();
  const identifiers = new Set();
  for (const key of keys) {
    const [, family, by, ...rest] = key.split(':');
    const arg = rest.join(':');
    if (family === 'appUsers' && by === 'id') ids.add(Number(arg));
    else if (family === 'appUsers' && by === 'phone') phones.add(arg);
    else if (family === 'devices') identifiers.add(arg);
  }
  const db = { usersById: new Map(), usersByPhone: new Map(), devices: new Map() };
  const cols = Object.values(USER_COLUMNS).join(', ');
  if (ids.size > 0) {
    const [rows] = await sql.query(`SELECT ${cols} FROM app_users WHERE id IN (?)`, [[...ids]]);
    rows.forEach((r) => db.usersById.set(Number(r.id), r));
  }
  if (phones.size > 0) {
    const [rows] = await sql.query(`SELECT ${cols} FROM app_users WHERE phone IN (?)`, [[...phones]]);
    rows.forEach((r) => db.usersByPhone.set(r.phone, r));
  }
  if (identifiers.size > 0) {
    const [rows] = await sql.query(`SELECT ${Object.values(DEVICE_COLUMNS).join(', ')} FROM devices WHERE identifier IN (?)`, [[...identifiers]]);
    rows.forEach((r) => db.devices.set(r.identifier, r));
  }
  return db;
}

class Sampler {
  /**
   * `catalog.keys()` lists the cache keys of every row the run knows; `catalog.recent()` those of
   * rows written in the last seconds. `now()` is the run's clock.
   */
  constructor({ redisPort, sql, catalog, now, tickMs = 100, perTick = 12 }) {
    this.redis = new Redis({
      port: redisPort,
      lazyConnect: true,
      commandTimeout: 500,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => 200,
      connectionName: 'faults-sampler',
    });
    this.redis.on('error', () => undefined);
    this.sql = sql;
    this.catalog = catalog;
    this.now = now;
    this.tickMs = tickMs;
    this.perTick = perTick;
    this.open = new Map(); // key -> {key, start, detail, lastBadAt}
    this.closed = [];
    this.checks = 0;
    this.ticks = 0;
    this.skippedTicks = 0;
    this.stopped = false;
  }

  async start() {
    await this.redis.connect().catch(() => undefined);
    this.loop = this.run();
  }

  async run() {
    while (!this.stopped) {
      const started = Date.now();
      await this.tick().catch(() => {
        this.skippedTicks += 1; // Redis paused or down: nothing can be compared now
      });
      await sleep(Math.max(0, this.tickMs - (Date.now() - started)));
    }
  }

  async tick() {
    this.ticks += 1;
    const keys = new Set(this.open.keys());
    const recent = this.catalog.recent();
    const all = this.catalog.keys();
    for (let i = 0; i < this.perTick && all.length > 0; i += 1) keys.add(i % 2 === 0 && recent.length > 0 ? pick(recent) : pick(all));
    const list = [...keys];
    const values = await this.redis.mget(...list);
    const db = await rowsBehind(this.sql, list);
    const at = this.now();
    list.forEach((key, i) => {
      this.checks += 1;
      const why = disagreement(key, values[i], db);
      const open = this.open.get(key);
      if (why && !open) this.open.set(key, { key, start: at, detail: why, lastBadAt: at });
      else if (why) open.lastBadAt = at;
      else if (open) {
        this.open.delete(key);
        this.closed.push({ ...open, end: at, resolved: true });
      }
    });
  }

  /** Stops sampling; disagreements still open end now, marked unresolved. */
  async stop() {
    this.stopped = true;
    await this.loop;
    const at = this.now();
    for (const open of this.open.values()) this.closed.push({ ...open, end: at, resolved: false });
    this.open.clear();
    this.redis.disconnect();
  }
}

module.exports = { Sampler, disagreement, rowsBehind };
