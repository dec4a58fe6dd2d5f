// The checks at the end of the run, once the load has stopped and the service has drained:
// the full audit (the project's own CLI), lost acknowledged writes, zombie sessions, tokens and
// sockets. The database is the truth for all of them.
'use strict';
const { spawn } = require('child_process');
const path = require('path');
const { ROOT } = require('../lib');
const { sleep } = require('./infra');

/** Waits until change capture has applied the whole binlog and the outbox is empty. */
async function drain({ monitor, sql, now, timeoutMs }) {
  const deadline = now() + timeoutMs;
  let caughtUp = 0;
  let outbox = null;
  while (now() < deadline) {
    const leader = monitor.leader();
    const cdc = leader && monitor.latest.get(leader.name);
    const [[row]] = await sql.query('SELECT COUNT(*) AS n FROM cache_invalidations');
    outbox = Number(row.n);
    caughtUp = cdc && cdc.connected && cdc.bytesBehind === 0 && cdc.at > now() - 1000 && outbox === 0 ? caughtUp + 1 : 0;
    if (caughtUp >= 3) return { ok: true, outbox };
    await sleep(300);
  }
  return { ok: false, outbox };
}

function runAudit(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'cli', 'cache.cli.js'), '--json', 'audit'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.once('exit', (code) => {
      const line = out.trim().split('\n').pop();
      try {
        resolve({ code, report: JSON.parse(line) });
      } catch {
        reject(new Error(`audit CLI exited ${code} without a JSON report: ${out}${err}`));
      }
    });
  });
}

async function truth(sql, { userIds = [], identifiers = [] }) {
  const users = new Map();
  const devices = new Map();
  if (userIds.length > 0) {
    const [rows] = await sql.query('SELECT id, nickname, status FROM app_users WHERE id IN (?)', [[...new Set(userIds)]]);
    rows.forEach((r) => users.set(Number(r.id), { nickname: r.nickname, status: Number(r.status) }));
  }
  if (identifiers.length > 0) {
    const [rows] = await sql.query('SELECT identifier, user_id FROM devices WHERE BINARY identifier IN (?)', [[...new Set(identifiers)]]);
    rows.forEach((r) => devices.set(r.identifier, Number(r.user_id)));
  }
  return { users, devices };
}

/** Why a session of `userId` on `identifier` must not exist according to the database, or null. */
function contradiction(db, userId, identifier) {
  if (!db.devices.has(identifier)) return 'device row gone';
  if (db.devices.get(identifier) !== Number(userId)) return `device belongs to user ${db.devices.get(identifier)}, session to ${userId}`;
  const user = db.users.get(Number(userId));
  if (!user) return 'user gone';
  if (user.status !== 1) return `user status ${user.status}`;
  return null;
}

async function finalValues(sql, history) {
  const userIds = [];
  const identifiers = [];
  for (const key of history.keys) {
    const [field, arg] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
    if (field === 'device') identifiers.push(arg);
    else userIds.push(Number(arg));
  }
  const db = await truth(sql, { userIds, identifiers });
  const values = new Map();
  for (const key of history.keys) {
    const [field, arg] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
    if (field === 'device') values.set(key, db.devices.has(arg) ? db.devices.get(arg) : null);
    else values.set(key, db.users.get(Number(arg))?.[field] ?? null);
  }
  return values;
}

async function scanAll(redis, pattern) {
  const keys = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** Every client session in Redis that the database contradicts. */
async function zombieSessions(redis, sql) {
  const keys = await scanAll(redis, 'session:*');
  const values = keys.length > 0 ? await redis.mget(...keys) : [];
  const sessions = values.flatMap((v, i) => (v ? [{ key: keys[i], ...JSON.parse(v) }] : []));
  const db = await truth(sql, { userIds: sessions.map((s) => s.userId), identifiers: sessions.map((s) => s.identifier) });
  const zombies = sessions.flatMap((s) => {
    const why = contradiction(db, s.userId, s.identifier);
    return why ? [{ key: s.key, userId: s.userId, identifier: s.identifier, issuedAt: s.issuedAt, why }] : [];
  });
  return { sessions: sessions.length, zombies };
}

/**
 * Tokens the load holds that still answer GET /me 200 although the database says their session
 * must have ended. Every token whose session is still in Redis is tried, and a sample of the others
 * (which must not answer 200 at all).
 */
async function zombieTokens(load, redis, sql, sample = 200) {
  const all = [...load.tokens.entries()];
  const pipeline = redis.pipeline();
  all.forEach(([, t]) => pipeline.exists(`session:${t.sessionId}`));
  const exists = (await pipeline.exec()).map(([, n]) => n === 1);
  const live = all.filter((_, i) => exists[i]);
  const others = all
    .filter((_, i) => !exists[i])
    .sort(() => Math.random() - 0.5)
    .slice(0, sample);
  const tried = [...live, ...others];
  const answers = [];
  for (let i = 0; i < tried.length; i += 8) {
    answers.push(
      ...(await Promise.all(
        tried.slice(i, i + 8).map(async ([token, t]) => ({ token, t, r: await load.request('GET /me (final check)', 'GET', '/me', undefined, token) })),
      )),
    );
  }
  const ok = answers.filter((a) => a.r.ok);
  const db = await truth(sql, { userIds: ok.map((a) => a.r.body.data.id), identifiers: ok.map((a) => a.t.identifier) });
  const zombies = ok.flatMap(({ t, r }) => {
    const why =
      contradiction(db, r.body.data.id, t.identifier) ?? (exists[all.findIndex(([, x]) => x === t)] ? null : 'answers 200 without a session in Redis');
    return why ? [{ identifier: t.identifier, userId: r.body.data.id, sessionId: t.sessionId, why }] : [];
  });
  return { held: all.length, tried: tried.length, answered200: ok.length, zombies };
}

/** Client sockets still connected whose session is gone or contradicted by the database. */
async function zombieSockets(load, redis, sql) {
  const connected = [...load.sockets].filter((s) => s.socket.connected);
  const db = await truth(sql, { userIds: connected.map((s) => s.userId), identifiers: connected.map((s) => s.identifier) });
  const zombies = [];
  for (const s of connected) {
    const session = await redis.exists(`session:${s.sessionId}`);
    const why = session ? contradiction(db, s.userId, s.identifier) : 'its session no longer exists';
    if (why) zombies.push({ identifier: s.identifier, userId: s.userId, server: s.server, why });
  }
  return { connected: connected.length, zombies };
}

module.exports = { drain, runAudit, finalValues, zombieSessions, zombieTokens, zombieSockets, truth, contradiction };
