// Zombies while the run goes on, not only at its end. A zombie made by a race is often ended
// a moment later by the next login of the same device (which replaces its session), so the final
// check alone would miss it. Every tick this reads every client session in Redis and every socket
// the load holds, and asks the database whether each may exist: a session whose device is gone or
// belongs to another user, or whose user is disabled or gone; a socket whose session is gone or is
// such a session. Each contradiction is followed until it ends, which gives how long it lasted.
'use strict';
const Redis = require('ioredis');
const { truth, contradiction } = require('./final');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Watcher {
  constructor({ redisPort, sql, load, now, tickMs = 500 }) {
    this.redis = new Redis({
      port: redisPort,
      lazyConnect: true,
      commandTimeout: 1000,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => 200,
      connectionName: 'faults-watcher',
    });
    this.redis.on('error', () => undefined);
    Object.assign(this, { sql, load, now, tickMs });
    this.open = new Map(); // session key or socket record -> {what, start, why, ...}
    this.closed = [];
    this.sessionChecks = 0;
    this.socketChecks = 0;
    this.ticks = 0;
    this.skippedTicks = 0;
    this.stopped = false;
  }

  async start() {
    await this.redis.connect().catch(() => undefined);
    this.loop = (async () => {
      while (!this.stopped) {
        const started = Date.now();
        await this.tick().catch(() => {
          this.skippedTicks += 1;
        });
        await sleep(Math.max(0, this.tickMs - (Date.now() - started)));
      }
    })();
  }

  async tick() {
    this.ticks += 1;
    const keys = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', 'session:*', 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    const values = keys.length > 0 ? await this.redis.mget(...keys) : [];
    const sessions = values.flatMap((v, i) => (v ? [{ key: keys[i], ...JSON.parse(v) }] : []));
    const sockets = [...this.load.sockets].filter((s) => s.socket.connected);
    const db = await truth(this.sql, {
      userIds: [...sessions.map((s) => s.userId), ...sockets.map((s) => s.userId)],
      identifiers: [...sessions.map((s) => s.identifier), ...sockets.map((s) => s.identifier)],
    });
    const at = this.now();
    const bad = new Map();
    for (const s of sessions) {
      const why = contradiction(db, s.userId, s.identifier);
      if (why) bad.set(s.key, { what: 'session', key: s.key, userId: s.userId, identifier: s.identifier, why });
    }
    const live = new Set(keys);
    for (const s of sockets) {
      const why = live.has(`session:${s.sessionId}`) ? contradiction(db, s.userId, s.identifier) : 'its session is gone';
      if (why) bad.set(s, { what: 'socket', key: `socket of ${s.identifier} on ${s.server}`, userId: s.userId, identifier: s.identifier, why });
    }
    this.sessionChecks += sessions.length;
    this.socketChecks += sockets.length;
    for (const [id, entry] of bad) {
      if (this.open.has(id)) this.open.get(id).lastBadAt = at;
      else this.open.set(id, { ...entry, start: at, lastBadAt: at });
    }
    for (const [id, entry] of this.open) {
      if (bad.has(id)) continue;
      this.open.delete(id);
      this.closed.push({ ...entry, end: at, resolved: true });
    }
  }

  async stop() {
    this.stopped = true;
    await this.loop;
    const at = this.now();
    for (const entry of this.open.values()) this.closed.push({ ...entry, end: at, resolved: false });
    this.open.clear();
    this.redis.disconnect();
  }
}

module.exports = { Watcher };
