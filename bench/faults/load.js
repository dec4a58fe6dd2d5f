// The mixed load of the fault run: concurrent workers that read and write through the service
// (HTTP and Socket.IO) and write by hand-written SQL, each recording what it did in the History
// (what was acknowledged, what is unknown) so that the end of the run can tell what must hold.
//
// Rows are partitioned so that most fields have one writer (exact checks), plus two groups where
// writers race on purpose:
//  - users `nickSvc` (nickname by PATCH /me), `nickSql` (nickname by SQL): always active; they are
//    the accounts devices move between ("hubs");
//  - users `statusAdmin` (status by admin PATCH), `statusSql` (by SQL), `statusMixed` (both);
//  - devices `home-i` (one per user), `rs-k` (moved, unbound and re-created through the service
//    only), `rq-k` (moved and deleted by SQL while a device login of the same device races it).
'use strict';
const { createHash } = require('crypto');
const { io } = require('socket.io-client');
const { ANY } = require('./history');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];
const PASSWORD = 'Faults-pass-1';
const REQUEST_TIMEOUT_MS = 5000;
/** SQL errors after which the statement certainly did nothing. */
const ROLLED_BACK = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'ER_DUP_ENTRY', 'ER_NO_REFERENCED_ROW_2']);

const sessionIdOf = (token) => createHash('sha256').update(token).digest('hex');
const userKeys = (u) => [`cache:appUsers:id:${u.id}`, ...(u.phone ? [`cache:appUsers:phone:${u.phone}`] : [])];
const deviceKey = (identifier) => `cache:devices:identifier:${identifier}`;

class Load {
  constructor({ slots, sql, raceSqls, history, now, admin, readers }) {
    this.slots = slots;
    this.sql = sql;
    this.raceSqls = raceSqls; // one connection per racer
    this.history = history;
    this.now = now;
    this.admin = admin;
    this.readerCount = readers;
    this.users = [];
    this.byGroup = {};
    this.knownUserIds = new Set();
    this.devices = new Map();
    this.tokens = new Map(); // token -> {userId, identifier, sessionId}
    this.sockets = new Set(); // records of connected client sockets
    this.socketStats = { connects: 0, refused: {}, kicked: {}, disconnects: {} };
    this.ops = new Map(); // kind -> {class -> count}
    this.failures = []; // {kind, cls, at} for answers other than 2xx / 4xx
    this.harnessErrors = [];
    this.touched = new Map(); // cache key -> last write time (for the sampler's bias)
    this.staffToken = null;
    this.seq = 0;
    this.running = false;
  }

  // ---- plumbing -------------------------------------------------------------------------------

  upSlots() {
    return this.slots.filter((s) => s.up);
  }

  /** Counts an answer; keeps the service's answers other than 2xx/4xx with their time span for the report. */
  count(kind, cls, start, end, detail) {
    if (!this.ops.has(kind)) this.ops.set(kind, {});
    const c = this.ops.get(kind);
    c[cls] = (c[cls] ?? 0) + 1;
    if (!/^(2xx|4\d\d|sql )/.test(cls)) this.failures.push({ kind, cls, start, end, detail });
  }

  /** One HTTP request to a live server; never throws. `outcome` says what a write did. */
  async request(kind, method, path, body, token) {
    const slot = pick(this.upSlots());
    const send = this.now();
    if (!slot) {
      this.count(kind, 'no server up', send, send);
      return { ok: false, status: 'conn', send, end: send, outcome: 'none' };
    }
    const headers = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    try {
      const res = await fetch(`${slot.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await res.text();
      const end = this.now();
      let json = null;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON: counted by its status
      }
      const ok = res.status >= 200 && res.status < 300;
      const cls = ok ? '2xx' : res.status >= 400 && res.status < 500 ? `${res.status}/${json?.code ?? '?'}` : String(res.status);
      this.count(kind, cls, send, end, ok || res.status < 500 ? undefined : `${slot.name}: ${json?.code ?? ''} ${json?.msg ?? text.slice(0, 80)}`);
      return { ok, status: res.status, body: json, send, end, outcome: ok ? 'acked' : res.status < 500 ? 'none' : 'unknown' };
    } catch (err) {
      const end = this.now();
      const timeout = err.name === 'TimeoutError' || err.name === 'AbortError';
      this.count(kind, timeout ? 'timeout' : 'connection error', send, end, `${slot.name}: ${err.cause?.code ?? err.cause?.message ?? err.message}`);
      return { ok: false, status: timeout ? 'timeout' : 'conn', send, end, outcome: timeout ? 'timeout' : 'unknown' };
    }
  }

  /** One hand-written statement; records it as a write of `value` to `key` if it reported a row. */
  async sqlWrite(conn, kind, key, value, statement, params) {
    const send = this.now();
    let outcome;
    try {
      const [res] = await conn.query(statement, params);
      outcome = res.affectedRows > 0 ? 'acked' : 'none';
      this.count(kind, res.affectedRows > 0 ? '2xx' : '404/0 rows', send, this.now());
    } catch (err) {
      outcome = ROLLED_BACK.has(err.code) ? 'none' : 'unknown';
      this.count(kind, `sql ${err.code ?? err.message}`, send, this.now(), err.message);
    }
    this.history.write(key, value, send, this.now(), outcome, 'sql');
    return outcome;
  }

  touch(keys) {
    const at = this.now();
    for (const k of keys) this.touched.set(k, at);
  }

  knowUser(id) {
    this.knownUserIds.add(Number(id));
  }

  /** A login answered: keep its token (and the device secret, once the server hands them out). */
  issued(identifier, data) {
    const dev = this.devices.get(identifier);
    dev.token = data.token;
    dev.tokenUserId = data.userId;
    dev.dead = false;
    if (data.deviceSecret) dev.secret = data.deviceSecret;
    this.knowUser(data.userId);
    this.tokens.set(data.token, { userId: data.userId, identifier, sessionId: sessionIdOf(data.token) });
  }

  deviceBody(identifier, extra = {}) {
    const secret = this.devices.get(identifier).secret;
    return secret ? { ...extra, identifier, deviceSecret: secret } : { ...extra, identifier };
  }

  async deviceLogin(kind, identifier) {
    const r = await this.request(kind, 'POST', '/auth/device', this.deviceBody(identifier));
    if (r.ok) this.issued(identifier, r.body.data);
    // A known device logs in as its owner (the register keeps its value); an unknown one gets a
    // new guest user. A failure of unknown outcome may have created one: any value.
    this.history.write(`device:${identifier}`, r.ok ? r.body.data.userId : ANY, r.send, r.end, r.outcome, 'svc');
    this.touch([deviceKey(identifier)]);
    return r;
  }

  async phoneLogin(kind, user, identifier) {
    const r = await this.request(kind, 'POST', '/auth/login', this.deviceBody(identifier, { phone: user.phone, password: PASSWORD }));
    if (r.ok) this.issued(identifier, r.body.data);
    this.history.write(`device:${identifier}`, user.id, r.send, r.end, r.outcome, 'svc');
    this.touch([deviceKey(identifier)]);
    return r;
  }

  async staffLogin() {
    const r = await this.request('staff login', 'POST', '/oa/auth/login', { phone: this.admin.phone, password: this.admin.password });
    if (r.ok) this.staffToken = r.body.data.token;
    return r.ok;
  }

  /** Records what a read through the service saw of a user. */
  sawUser(r, fields) {
    if (!r.ok || !r.body?.data) return;
    const u = r.body.data;
    for (const f of fields) this.history.read(`${f}:${u.id}`, u[f], r.send, r.end, r.kind);
  }

  // ---- set-up ---------------------------------------------------------------------------------

  async setUp({ groups, roamSvc, roamSql }) {
    for (let i = 0; i < 12 && !(await this.staffLogin()); i += 1) await sleep(500);
    if (!this.staffToken) throw new Error('staff login failed');
    let n = 0;
    for (const [group, count] of Object.entries(groups)) {
      this.byGroup[group] = [];
      for (let i = 0; i < count; i += 1, n += 1) {
        const user = { group, phone: `1390000${String(n).padStart(4, '0')}`, home: `home-${n}`, id: null };
        this.users.push(user);
        this.byGroup[group].push(user);
      }
    }
    const register = async (user) => {
      this.devices.set(user.home, { identifier: user.home, group: 'home', owner: user });
      for (let attempt = 0; attempt < 5; attempt += 1) {
        const r = await this.request('register (set-up)', 'POST', '/auth/register', { phone: user.phone, password: PASSWORD, identifier: user.home });
        if (r.ok) {
          user.id = r.body.data.userId;
          this.issued(user.home, r.body.data);
          return;
        }
      }
      throw new Error(`could not register ${user.phone}`);
    };
    for (let i = 0; i < this.users.length; i += 4) await Promise.all(this.users.slice(i, i + 4).map(register));
    this.hubs = [...this.byGroup.nickSvc, ...this.byGroup.nickSql];
    this.roamSvc = [];
    this.roamSql = [];
    for (let k = 0; k < roamSvc; k += 1) this.roamSvc.push(this.newDevice(`rs-${k}`, 'roamSvc'));
    for (let k = 0; k < roamSql; k += 1) this.roamSql.push(this.newDevice(`rq-${k}`, 'roamSql'));
    for (const dev of [...this.roamSvc, ...this.roamSql]) {
      const r = await this.phoneLogin('login into an account (set-up)', pick(this.hubs), dev.identifier);
      if (!r.ok) throw new Error(`could not log ${dev.identifier} in`);
    }
  }

  newDevice(identifier, group) {
    const dev = { identifier, group, gone: false };
    this.devices.set(identifier, dev);
    return dev;
  }

  /** The values every register starts from, read from the database once the set-up is done. */
  async recordInitialValues() {
    const at = this.now();
    const [users] = await this.sql.query('SELECT id, nickname, status FROM app_users WHERE id IN (?)', [this.users.map((u) => u.id)]);
    for (const row of users) {
      this.history.write(`nickname:${row.id}`, row.nickname, 0, at, 'acked', 'initial');
      this.history.write(`status:${row.id}`, Number(row.status), 0, at, 'acked', 'initial');
    }
    const [devices] = await this.sql.query('SELECT identifier, user_id FROM devices WHERE identifier IN (?)', [[...this.devices.keys()]]);
    for (const row of devices) this.history.write(`device:${row.identifier}`, Number(row.user_id), 0, at, 'acked', 'initial');
  }

  // ---- the workers ----------------------------------------------------------------------------

  start() {
    this.running = true;
    const workers = [
      ...Array.from({ length: this.readerCount }, (_, i) => ['reader', () => this.reader(i)]),
      ['nickname writer (service)', () => this.nicknameWriter()],
      ['SQL writer', () => this.sqlWriter()],
      ['admin status writer', () => this.adminWriter()],
      ['status-user logins', () => this.statusUserLogins()],
      ['device mover (service)', () => this.deviceMover()],
      ...this.raceSqls.map((conn, i) => ['device racer (SQL vs login)', () => this.deviceRacer(i, conn)]),
      ['socket keeper', () => this.socketKeeper()],
    ];
    this.loops = workers.map(([name, body]) => this.loop(name, body));
  }

  async loop(name, body) {
    while (this.running) {
      try {
        await body();
      } catch (err) {
        this.harnessErrors.push(`${name}: ${err.stack}`);
        await sleep(200);
      }
    }
  }

  async stop() {
    this.running = false;
    await Promise.all(this.loops ?? []);
  }

  liveTokenDevices() {
    return [...this.devices.values()].filter((d) => d.token && !d.dead);
  }

  async reader() {
    if (Math.random() < 0.7) {
      const dev = pick(this.liveTokenDevices());
      if (!dev) return sleep(50);
      const token = dev.token;
      const r = await this.request('GET /me', 'GET', '/me', undefined, token);
      r.kind = 'GET /me';
      this.sawUser(r, ['nickname', 'status']);
      if (r.status === 401 && dev.token === token) dev.dead = true;
    } else {
      const user = pick(this.users);
      const r = await this.request('GET /admin/app-users/:id', 'GET', `/admin/app-users/${user.id}`, undefined, this.staffToken);
      r.kind = 'admin GET';
      this.sawUser(r, ['nickname', 'status']);
      if (r.status === 401) await this.staffLogin();
    }
    await sleep(8);
  }

  /** PATCH /me with a fresh nickname, then GET /me: the read must show it. */
  async nicknameWriter() {
    const user = pick(this.byGroup.nickSvc);
    const dev = this.devices.get(user.home);
    if (!dev.token || dev.dead) {
      await this.phoneLogin('login (own device, after 401)', user, user.home);
      return sleep(50);
    }
    const nickname = `svc-${(this.seq += 1)}`;
    const r = await this.request('PATCH /me', 'PATCH', '/me', { nickname }, dev.token);
    this.history.write(`nickname:${user.id}`, nickname, r.send, r.end, r.outcome, 'svc');
    this.touch(userKeys(user));
    if (r.status === 401) dev.dead = true;
    if (r.ok) {
      const g = await this.request('GET /me (after PATCH)', 'GET', '/me', undefined, dev.token);
      g.kind = 'GET /me after PATCH';
      this.sawUser(g, ['nickname']);
    }
    await sleep(25);
  }

  async sqlWriter() {
    const roll = Math.random();
    if (roll < 0.4) {
      const user = pick(this.byGroup.nickSql);
      const nickname = `sql-${(this.seq += 1)}`;
      await this.sqlWrite(this.sql, 'SQL UPDATE nickname', `nickname:${user.id}`, nickname, 'UPDATE app_users SET nickname = ? WHERE id = ?', [
        nickname,
        user.id,
      ]);
      this.touch(userKeys(user));
    } else {
      const user = pick(roll < 0.7 ? this.byGroup.statusSql : this.byGroup.statusMixed);
      const status = Math.random() < 0.5 ? 1 : 2;
      await this.sqlWrite(this.sql, 'SQL UPDATE status', `status:${user.id}`, status, 'UPDATE app_users SET status = ? WHERE id = ?', [status, user.id]);
      this.touch(userKeys(user));
    }
    await sleep(20);
  }

  /** Admin PATCH of a status (often the one the row already has), then GET: the read must show it. */
  async adminWriter() {
    const user = pick([...this.byGroup.statusAdmin, ...this.byGroup.statusMixed]);
    const status = Math.random() < 0.5 ? 1 : 2;
    const r = await this.request('admin PATCH status', 'PATCH', `/admin/app-users/${user.id}`, { status }, this.staffToken);
    this.history.write(`status:${user.id}`, status, r.send, r.end, r.outcome, 'svc');
    this.touch(userKeys(user));
    if (r.status === 401) await this.staffLogin();
    if (r.ok) {
      const g = await this.request('admin GET (after PATCH)', 'GET', `/admin/app-users/${user.id}`, undefined, this.staffToken);
      g.kind = 'admin GET after PATCH';
      this.sawUser(g, ['status', 'nickname']);
    }
    await sleep(35);
  }

  /** Device logins of the users whose status flips: their sessions must end whenever they are disabled. */
  async statusUserLogins() {
    const user = pick([...this.byGroup.statusAdmin, ...this.byGroup.statusSql, ...this.byGroup.statusMixed]);
    await this.deviceLogin('POST /auth/device (user whose status flips)', user.home);
    await sleep(60);
  }

  /** Devices moved only through the service: logged into another account, unbound, re-created. */
  async deviceMover() {
    const dev = pick(this.roamSvc);
    if (dev.gone) {
      const r =
        Math.random() < 0.5
          ? await this.deviceLogin('POST /auth/device (new device)', dev.identifier)
          : await this.phoneLogin('POST /auth/login (device into an account)', pick(this.hubs), dev.identifier);
      if (r.ok) dev.gone = false;
    } else if (dev.token && !dev.dead && Math.random() < 0.3) {
      const r = await this.request('DELETE /me/devices/:identifier', 'DELETE', `/me/devices/${dev.identifier}`, undefined, dev.token);
      this.history.write(`device:${dev.identifier}`, null, r.send, r.end, r.outcome, 'svc');
      this.touch([deviceKey(dev.identifier)]);
      if (r.ok || r.outcome === 'unknown' || r.outcome === 'timeout') {
        dev.gone = true; // or may be: a login works either way
        dev.token = null;
        dev.secret = undefined;
      }
      if (r.status === 401) dev.dead = true;
    } else {
      await this.phoneLogin('POST /auth/login (device into an account)', pick(this.hubs), dev.identifier);
    }
    await sleep(50);
  }

  /**
   * A hand-written move or delete of a device and a device login of the same device, a few ms
   * apart in either order: the session the login issues must not outlive the move.
   */
  async deviceRacer(racer, conn) {
    const dev = pick(this.roamSql.filter((_, k) => k % this.raceSqls.length === racer));
    const key = `device:${dev.identifier}`;
    // Mostly the statement a little after the login, so that it lands while the login's
    // transaction holds the device row and commits right after it; sometimes before.
    const jitter = Math.floor(Math.random() * 17) - 4;
    const after = (ms, work) => sleep(Math.max(0, ms)).then(work);
    const roll = Math.random();
    const login = () => this.deviceLogin('POST /auth/device (racing SQL)', dev.identifier);
    if (roll < 0.7) {
      const to = pick(this.hubs);
      await Promise.all([
        after(jitter, () =>
          this.sqlWrite(conn, 'SQL UPDATE devices SET user_id', key, to.id, 'UPDATE devices SET user_id = ? WHERE identifier = ?', [to.id, dev.identifier]),
        ),
        after(-jitter, login),
      ]);
    } else if (roll < 0.85) {
      await Promise.all([
        after(jitter, () => this.sqlWrite(conn, 'SQL DELETE FROM devices', key, null, 'DELETE FROM devices WHERE identifier = ?', [dev.identifier])),
        after(-jitter, login),
      ]);
    } else {
      const to = pick(this.hubs);
      await this.sqlWrite(conn, 'SQL INSERT INTO devices', key, to.id, 'INSERT IGNORE INTO devices (identifier, user_id) VALUES (?, ?)', [
        dev.identifier,
        to.id,
      ]);
      await login();
    }
    this.touch([deviceKey(dev.identifier)]);
    await sleep(40);
  }

  /** Keeps about 24 devices connected over Socket.IO, on whichever server is up. */
  async socketKeeper() {
    const connectedTokens = new Set([...this.sockets].map((s) => s.token));
    if (this.sockets.size < 24) {
      const dev = pick(this.liveTokenDevices().filter((d) => !connectedTokens.has(d.token)));
      const slot = pick(this.upSlots());
      if (dev && slot) await this.connectSocket(slot, dev);
    }
    await sleep(100);
  }

  connectSocket(slot, dev) {
    const rec = { token: dev.token, userId: dev.tokenUserId, identifier: dev.identifier, sessionId: sessionIdOf(dev.token), server: slot.name, kicked: null };
    return new Promise((resolve) => {
      const socket = io(`${slot.url}/devices`, { auth: { token: rec.token }, transports: ['websocket'], reconnection: false, forceNew: true, timeout: 3000 });
      rec.socket = socket;
      const done = setTimeout(() => {
        socket.close();
        resolve();
      }, 4000);
      socket.once('connect', () => {
        clearTimeout(done);
        this.socketStats.connects += 1;
        rec.connectedAt = this.now();
        this.sockets.add(rec);
        resolve();
      });
      socket.once('connect_error', (err) => {
        clearTimeout(done);
        const why = err.data?.code ?? err.message;
        this.socketStats.refused[why] = (this.socketStats.refused[why] ?? 0) + 1;
        socket.close();
        resolve();
      });
      socket.on('kicked', (payload) => {
        rec.kicked = payload?.reason ?? '?';
        this.socketStats.kicked[rec.kicked] = (this.socketStats.kicked[rec.kicked] ?? 0) + 1;
      });
      socket.on('disconnect', (reason) => {
        this.socketStats.disconnects[reason] = (this.socketStats.disconnects[reason] ?? 0) + 1;
        this.sockets.delete(rec);
      });
    });
  }

  closeSockets() {
    for (const rec of this.sockets) rec.socket.close();
    this.sockets.clear();
  }

  // ---- for the sampler ------------------------------------------------------------------------

  catalog() {
    return {
      keys: () => {
        if (!this.cachedKeys || this.cachedKeysAt < this.now() - 1000) {
          const keys = [];
          for (const id of this.knownUserIds) keys.push(`cache:appUsers:id:${id}`);
          for (const u of this.users) keys.push(`cache:appUsers:phone:${u.phone}`);
          for (const identifier of this.devices.keys()) keys.push(deviceKey(identifier));
          this.cachedKeys = keys;
          this.cachedKeysAt = this.now();
        }
        return this.cachedKeys;
      },
      recent: () => {
        const since = this.now() - 3000;
        const keys = [];
        for (const [k, at] of this.touched) {
          if (at < since) this.touched.delete(k);
          else keys.push(k);
        }
        return keys;
      },
    };
  }
}

module.exports = { Load, sessionIdOf, PASSWORD };
