import { execFileSync } from 'child_process';
import { readFileSync, rmSync } from 'fs';
import { userInfo } from 'os';
import { join } from 'path';
import { createConnection } from 'mysql2/promise';
import { findBinary, freePort, removeDir, spawnServer, tempDir, waitFor } from './spawned-server';

export interface DbServer {
  host: string;
  port: number;
  user: string;
  password: string;
}

export interface BinlogMariaDb extends DbServer {
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * A MariaDB of the test's own, with the binary log on as change capture needs it (ROW format,
 * full row image, full row metadata): the machine's MariaDB runs with the binlog off. It lives in
 * a temporary data directory on a free port and is gone after `stop()`. Durability is relaxed
 * (no fsync per commit): the tests measure change capture, not the disk.
 */
export async function startBinlogMariaDb(): Promise<BinlogMariaDb> {
  const installDb = findBinary([process.env.MARIADB_INSTALL_DB ?? 'mariadb-install-db', 'mysql_install_db']);
  const mariadbd = findBinary([process.env.MARIADBD ?? 'mariadbd', '/usr/sbin/mariadbd', '/usr/sbin/mysqld', 'mysqld']);
  const dir = tempDir('hi-binlog');
  const dataDir = join(dir, 'data');
  const user = userInfo().username;
  const install = () =>
    execFileSync(installDb, ['--no-defaults', `--datadir=${dataDir}`, `--user=${user}`, '--auth-root-authentication-method=normal', '--skip-test-db'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  try {
    try {
      install();
    } catch {
      // Seen once in a full run with two workers installing at once; its output says why, if it fails again.
      rmSync(dataDir, { recursive: true, force: true });
      install();
    }
  } catch (err) {
    removeDir(dir);
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '')
      .trim()
      .split('\n')
      .slice(-5)
      .join('\n');
    throw new Error(`mariadb-install-db failed: ${(err as Error).message}\n${stderr}`, { cause: err });
  }
  // Chosen only now: the install takes seconds, long enough for a parallel test to take the port.
  const port = await freePort();
  const server = spawnServer(mariadbd, [
    '--no-defaults',
    `--datadir=${dataDir}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${join(dir, 'mysqld.sock')}`,
    `--pid-file=${join(dir, 'mysqld.pid')}`,
    `--log-error=${join(dir, 'error.log')}`,
    `--user=${user}`,
    `--log-bin=${join(dataDir, 'binlog')}`,
    '--binlog-format=ROW',
    '--binlog-row-image=FULL',
    '--binlog-row-metadata=FULL',
    '--server-id=1',
    '--skip-name-resolve',
    '--innodb-buffer-pool-size=64M',
    '--innodb-flush-log-at-trx-commit=2',
    '--sync-binlog=0',
    '--max-connections=300',
  ]);
  const db: BinlogMariaDb = {
    host: '127.0.0.1',
    port,
    user: 'root',
    password: '',
    dataDir,
    stop: async () => {
      await server.stop();
      removeDir(dir);
    },
  };
  try {
    await waitFor(`MariaDB on port ${port}`, async () => {
      if (server.child.exitCode !== null) throw new Error('exited');
      const conn = await createConnection({ host: db.host, port, user: db.user, password: db.password });
      await conn.end();
      return true;
    });
  } catch (err) {
    let log = '';
    try {
      log = readFileSync(join(dir, 'error.log'), 'utf8').slice(-2000);
    } catch {
      // no log written
    }
    await db.stop();
    throw new Error(`MariaDB with binlog failed to start: ${(err as Error).message}\n${log}`, { cause: err });
  }
  return db;
}
