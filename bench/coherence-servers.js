// Servers of the coherence benchmark's own: a MariaDB with the binary log on (ROW, full image,
// full metadata) and a redis-server with keyspace notifications, each on a free port in a
// temporary directory, stopped and removed at the end. The machine's servers are never touched.
'use strict';
const { execFileSync, spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const Redis = require('ioredis');
const mysql = require('mysql2/promise');
const { freePort } = require('./lib');

const children = new Set();
process.once('exit', () => children.forEach((c) => c.kill('SIGKILL')));

function which(candidates) {
  for (const c of candidates) {
    if (c.includes('/') ? fs.existsSync(c) : spawnSync('sh', ['-c', `command -v ${c}`]).status === 0) return c;
  }
  throw new Error(`none of ${candidates.join(', ')} is installed`);
}

function own(command, args, dir) {
  const child = spawn(command, args, { stdio: 'ignore' });
  children.add(child);
  const exited = new Promise((r) => child.once('exit', r));
  child.once('exit', () => children.delete(child));
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15000);
      await exited;
      clearTimeout(t);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
}

async function until(what, probe) {
  const deadline = Date.now() + 30000;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startBinlogMariaDb() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hi-bench-binlog-'));
  const data = path.join(dir, 'data');
  const user = os.userInfo().username;
  const port = await freePort();
  execFileSync(
    which(['mariadb-install-db', 'mysql_install_db']),
    ['--no-defaults', `--datadir=${data}`, `--user=${user}`, '--auth-root-authentication-method=normal', '--skip-test-db'],
    { stdio: 'ignore' },
  );
  const stop = own(
    which(['mariadbd', '/usr/sbin/mariadbd', '/usr/sbin/mysqld']),
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${path.join(dir, 'mysqld.sock')}`,
      `--pid-file=${path.join(dir, 'mysqld.pid')}`,
      `--log-error=${path.join(dir, 'error.log')}`,
      `--user=${user}`,
      `--log-bin=${path.join(data, 'binlog')}`,
      '--binlog-format=ROW',
      '--binlog-row-image=FULL',
      '--binlog-row-metadata=FULL',
      '--server-id=1',
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=128M',
      '--innodb-flush-log-at-trx-commit=2',
      '--sync-binlog=0',
      '--max-connections=300',
    ],
    dir,
  );
  const server = { host: '127.0.0.1', port, user: 'root', password: '' };
  await until('MariaDB', async () => (await mysql.createConnection(server)).end().then(() => true));
  return { ...server, stop };
}

async function startRedis() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hi-bench-redis-'));
  const port = await freePort();
  const stop = own(
    which(['redis-server', '/usr/bin/redis-server']),
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--notify-keyspace-events', 'Kg'],
    dir,
  );
  await until('redis-server', async () => {
    const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } finally {
      probe.disconnect();
    }
  });
  return { host: '127.0.0.1', port, stop };
}

module.exports = { startBinlogMariaDb, startRedis };
