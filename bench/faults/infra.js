// The processes of the fault run, each of which the run can break on purpose: a redis-server that
// can be paused, killed and started again on the same port with its data, and server processes
// (dist/main.js) that can be SIGKILLed and started again. Everything started here is registered
// for clean-up, which runs on a normal end, on a failure and on Ctrl-C.
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const Redis = require('ioredis');
const { freePort, ROOT } = require('../lib');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Clean-up steps, run last-registered first. */
const cleanups = [];
const children = new Set();
process.once('exit', () => children.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL')));

function onCleanup(step) {
  cleanups.push(step);
}

async function cleanupAll(log) {
  while (cleanups.length > 0) {
    const step = cleanups.pop();
    await step().catch((err) => log(`clean-up step failed: ${err.message}`));
  }
}

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function which(candidates) {
  for (const c of candidates) {
    if (c.includes('/') ? fs.existsSync(c) : spawnSync('sh', ['-c', `command -v ${c}`]).status === 0) return c;
  }
  throw new Error(`none of ${candidates.join(', ')} is installed`);
}

function exited(child) {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r));
}

async function until(what, probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function redisPing(port) {
  const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } finally {
    probe.disconnect();
  }
}

/**
 * A redis-server of the run's own. `fsync` is its appendfsync policy (`always` keeps every write it
 * acknowledged across a kill -9, as a Redis that holds sessions should; `none` turns persistence off).
 */
async function startOwnRedis(dir, fsync) {
  const binary = which(['redis-server', '/usr/bin/redis-server']);
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--protected-mode', 'no', '--daemonize', 'no'];
  if (fsync === 'none') args.push('--appendonly', 'no');
  else args.push('--appendonly', 'yes', '--appendfsync', fsync);
  const logFd = fs.openSync(path.join(dir, 'redis.log'), 'a');
  let child = null;
  let paused = false;
  const redis = {
    host: '127.0.0.1',
    port,
    get pid() {
      return child?.pid;
    },
    async start() {
      child = track(spawn(binary, args, { stdio: ['ignore', logFd, logFd] }));
      const started = child;
      await until(
        `redis-server on port ${port}`,
        async () => {
          if (started.exitCode !== null) throw new Error('redis-server exited');
          return redisPing(port);
        },
        20000,
      );
    },
    pause() {
      process.kill(child.pid, 'SIGSTOP');
      paused = true;
    },
    resume() {
      if (paused && child) process.kill(child.pid, 'SIGCONT');
      paused = false;
    },
    async kill9() {
      const victim = child;
      victim.kill('SIGKILL');
      await exited(victim);
      paused = false;
    },
    async stop() {
      if (!child) return;
      redis.resume();
      const victim = child;
      victim.kill('SIGKILL');
      await exited(victim);
    },
  };
  await redis.start();
  onCleanup(async () => {
    await redis.stop();
    fs.closeSync(logFd);
  });
  return redis;
}

/** One server process (dist/main.js) with a fixed port, so that a restart comes back where it was. */
class ServerSlot {
  constructor(name, env, logDir) {
    this.name = name;
    this.env = env;
    this.logFile = path.join(logDir, `${name}.log`);
    this.child = null;
    this.up = false;
    this.port = null;
    this.starts = 0;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    for (let attempt = 0; ; attempt += 1) {
      if (this.port === null || attempt > 0) this.port = await freePort();
      try {
        await this.spawnOnce();
        return;
      } catch (err) {
        if (attempt >= 2) throw err;
      }
    }
  }

  async spawnOnce() {
    const fd = fs.openSync(this.logFile, 'a');
    fs.writeSync(fd, `\n==== start ${this.starts + 1} of ${this.name} on port ${this.port} at ${new Date().toISOString()}\n`);
    const child = track(
      spawn(process.execPath, [path.join(ROOT, 'dist', 'main.js')], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, ...this.env, PORT: String(this.port) },
        stdio: ['ignore', fd, fd],
      }),
    );
    fs.closeSync(fd);
    this.child = child;
    this.starts += 1;
    await until(
      `${this.name} answering /health/live`,
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${this.name} exited (see ${this.logFile})`);
        const res = await fetch(`${this.url}/health/live`, { signal: AbortSignal.timeout(1000) });
        return res.ok;
      },
      60000,
    ).catch(async (err) => {
      child.kill('SIGKILL');
      await exited(child);
      throw err;
    });
    this.up = true;
  }

  async kill9() {
    this.up = false;
    const victim = this.child;
    if (!victim) return;
    victim.kill('SIGKILL');
    await exited(victim);
  }

  async stop() {
    this.up = false;
    const victim = this.child;
    if (!victim || victim.exitCode !== null || victim.signalCode !== null) return;
    victim.kill('SIGTERM');
    const t = setTimeout(() => victim.kill('SIGKILL'), 8000);
    await exited(victim);
    clearTimeout(t);
  }
}

async function startServers(count, env, logDir) {
  const slots = [];
  onCleanup(async () => {
    for (const slot of slots) await slot.stop();
  });
  for (let i = 0; i < count; i += 1) {
    const slot = new ServerSlot(`server${i + 1}`, env, logDir);
    slots.push(slot);
    await slot.start(); // one after the other: the first runs the migrations
  }
  return slots;
}

/** GET /health of a server: its HTTP status and change capture's part (200, or 503 in an outage). */
async function healthOf(slot) {
  try {
    const res = await fetch(`${slot.url}/health`, { signal: AbortSignal.timeout(1000) });
    const body = await res.json();
    const data = body.data ?? {};
    return { status: res.status, cdc: data.info?.cdc ?? data.details?.cdc ?? data.error?.cdc ?? null };
  } catch {
    return null;
  }
}

module.exports = { onCleanup, cleanupAll, startOwnRedis, startServers, healthOf, until, sleep, which };
