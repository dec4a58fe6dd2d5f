// The faults, injected one at a time on a schedule with quiet gaps between them, each recorded as
// a window from its injection to the moment what it broke is back (Redis answering, the killed
// server answering again, a new leader or binlog connection in place). A monitor polls every
// server's GET /health for change capture's role, which says who the leader is and how long a
// takeover took.
'use strict';
const { healthOf, sleep } = require('./infra');

class Monitor {
  constructor(slots, now) {
    this.slots = slots;
    this.now = now;
    this.latest = new Map(); // slot name -> {role, connected, bytesBehind, at}
    this.running = true;
  }

  start() {
    this.loop = (async () => {
      while (this.running) {
        await Promise.all(
          this.slots.map(async (slot) => {
            const health = slot.up ? await healthOf(slot) : null;
            if (health) this.latest.set(slot.name, { ...(health.cdc ?? {}), httpStatus: health.status, at: this.now() });
            else if (!slot.up) this.latest.delete(slot.name);
          }),
        );
        await sleep(250);
      }
    })();
  }

  async stop() {
    this.running = false;
    await this.loop;
  }

  leader() {
    return this.slots.find((s) => s.up && this.latest.get(s.name)?.role === 'leader');
  }

  /** Waits until every server that is up answered GET /health 200 after `since` (Redis and MySQL reachable again). */
  async allHealthySince(since, timeoutMs) {
    const deadline = this.now() + timeoutMs;
    while (this.now() < deadline) {
      const up = this.slots.filter((s) => s.up);
      if (up.every((s) => this.latest.get(s.name)?.httpStatus === 200 && this.latest.get(s.name).at > since)) return true;
      await sleep(50);
    }
    return false;
  }

  /** Waits until a server other than `not` reports itself leader and connected to the binlog. */
  async leaderOtherThan(not, timeoutMs) {
    const deadline = this.now() + timeoutMs;
    while (this.now() < deadline) {
      const s = this.slots.find((x) => x !== not && x.up && this.latest.get(x.name)?.role === 'leader' && this.latest.get(x.name)?.connected);
      if (s) return s;
      await sleep(50);
    }
    return null;
  }
}

class Schedule {
  constructor({ redis, slots, rootSql, monitor, now, log, pauseMs, gapMs, warmupMs, kinds }) {
    Object.assign(this, { redis, slots, rootSql, monitor, now, log, pauseMs, gapMs, warmupMs, kinds });
    this.windows = [];
    this.stopping = false;
  }

  async run(endAt) {
    if (this.kinds.length === 0) return; // FAULTS_KINDS=none: the load alone, for comparison
    await this.wait(this.warmupMs);
    for (let i = 0; !this.stopping && this.now() < endAt - 8000; i += 1) {
      const kind = this.kinds[i % this.kinds.length];
      const window = { kind, start: this.now(), end: null, detail: '' };
      this.windows.push(window);
      this.log(`fault: ${kind}`);
      try {
        window.detail = await this[kind](window);
      } catch (err) {
        window.detail = `injection failed: ${err.message}`;
        this.log(window.detail);
      }
      window.end ??= this.now();
      this.log(`  ${window.detail}`);
      await this.wait(this.gapMs);
    }
  }

  async wait(ms) {
    const until = this.now() + ms;
    while (!this.stopping && this.now() < until) await sleep(Math.min(200, until - this.now()));
  }

  stop() {
    this.stopping = true;
  }

  async 'redis-pause'() {
    this.redis.pause();
    await sleep(this.pauseMs);
    this.redis.resume();
    const resumedAt = this.now();
    return `SIGSTOP for ${(this.pauseMs / 1000).toFixed(1)} s, then SIGCONT; ${await this.healthy(resumedAt)}`;
  }

  async 'redis-kill'() {
    await this.redis.kill9();
    const killedAt = this.now();
    await sleep(2000);
    await this.redis.start();
    const startedAt = this.now();
    return `kill -9, restarted on the same port, answering ${((startedAt - killedAt) / 1000).toFixed(1)} s after the kill; ${await this.healthy(startedAt)}`;
  }

  /** The servers' /health says Redis is back: the window ends there. */
  async healthy(since) {
    const ok = await this.monitor.allHealthySince(since, 20000);
    return ok ? `every server's /health 200 again ${((this.now() - since) / 1000).toFixed(1)} s later` : 'a server still unhealthy 20 s later';
  }

  async 'server-kill'() {
    const leader = this.monitor.leader();
    const victim = this.slots.find((s) => s.up && s !== leader) ?? this.slots.find((s) => s.up);
    await victim.kill9();
    const killedAt = this.now();
    await sleep(2000);
    await victim.start();
    return `SIGKILL of ${victim.name} (${victim === leader ? 'the leader: no standby was up' : 'standby'}), answering again ${((this.now() - killedAt) / 1000).toFixed(1)} s later`;
  }

  async 'leader-kill'(window) {
    let victim = this.monitor.leader();
    for (let i = 0; !victim && i < 40; i += 1) {
      await sleep(250);
      victim = this.monitor.leader();
    }
    if (!victim) return 'no leader found: not injected';
    await victim.kill9();
    const killedAt = this.now();
    const restart = sleep(2000).then(() => victim.start());
    const next = await this.monitor.leaderOtherThan(victim, 30000);
    const takeover = this.now() - killedAt;
    window.takeoverMs = next ? takeover : null;
    await restart;
    return next
      ? `SIGKILL of ${victim.name}; ${next.name} leading and connected to the binlog ${(takeover / 1000).toFixed(1)} s later`
      : `SIGKILL of ${victim.name}; no other server took over within 30 s`;
  }

  async 'binlog-kill'(window) {
    const dumps = async () => {
      const [rows] = await this.rootSql.query("SELECT ID AS id FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'");
      return rows.map((r) => Number(r.id));
    };
    const before = await dumps();
    if (before.length === 0) return 'no Binlog Dump connection found: not injected';
    for (const id of before) await this.rootSql.query(`KILL ${id}`).catch(() => undefined);
    const killedAt = this.now();
    while (this.now() - killedAt < 30000) {
      const now = await dumps();
      if (now.some((id) => !before.includes(id))) {
        window.reconnectMs = this.now() - killedAt;
        return `KILL of binlog dump connection ${before.join(', ')}; a new one ${(window.reconnectMs / 1000).toFixed(1)} s later`;
      }
      await sleep(50);
    }
    return `KILL of binlog dump connection ${before.join(', ')}; no new one within 30 s`;
  }
}

/** Longest part of [start, end] covered by no window widened by `marginMs` after its end. */
function longestOutside(start, end, windows, marginMs) {
  const covered = windows
    .map((w) => [w.start, (w.end ?? Infinity) + marginMs])
    .filter(([a, b]) => b > start && a < end)
    .sort((x, y) => x[0] - y[0]);
  let longest = 0;
  let cursor = start;
  for (const [a, b] of covered) {
    if (a > cursor) longest = Math.max(longest, Math.min(a, end) - cursor);
    cursor = Math.max(cursor, b);
    if (cursor >= end) break;
  }
  if (cursor < end) longest = Math.max(longest, end - cursor);
  return longest;
}

function overlapsWindow(start, end, windows, marginMs) {
  return windows.some((w) => start <= (w.end ?? Infinity) + marginMs && end >= w.start);
}

module.exports = { Monitor, Schedule, longestOutside, overlapsWindow };
