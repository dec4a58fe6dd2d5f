import { spawn } from 'child_process';
import { join } from 'path';
import { Api } from '../support/http';
import { jsonLines } from '../support/server-process';
import { TestWorld } from '../support/test-app';

const START_BOUND_MS = 50_000;

function runMain(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
      cwd: join(__dirname, '..', '..'),
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    // Four of these load the whole service through ts-node side by side, while the rest of the
    // suite loads both cores: that took more than 20 s in a CI run. The bound stays below the
    // test timeout so a hung start still fails here, saying so.
    const timer = setTimeout(() => {
      output += `\n[test] killed: still running after ${START_BOUND_MS} ms`;
      child.kill('SIGKILL');
    }, START_BOUND_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** The exit code, or a failure that shows how the output ended (a kill says why). */
function expectExit(code: number | null, expected: number, output: string): void {
  if (code !== expected) throw new Error(`exit code ${code}, expected ${expected}; the output ended:\n${output.slice(-600)}`);
}

describe('start-up and health (CONTRACT sections 3 and 8)', () => {
  let world: TestWorld;
  let api: Api;
  // Processes that fail to start, run side by side (each takes seconds to load): a bad setting,
  // MySQL and Redis unreachable, and one of them with LOG_FORMAT=pretty.
  let failures: Record<'config' | 'mysql' | 'redis' | 'pretty', Promise<{ code: number | null; output: string }>>;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ api } = await world.start());
    failures = {
      config: runMain(world.env({ CACHE_TTL_SECONDS: 'soon', LOG_LEVEL: 'info' })),
      mysql: runMain(world.env({ DB_PORT: '1', LOG_LEVEL: 'info' })),
      redis: runMain(world.env({ ...world.unreachableRedis(1), LOG_LEVEL: 'info' })),
      pretty: runMain(world.env({ DB_PORT: '1', LOG_LEVEL: 'info', LOG_FORMAT: 'pretty' })),
    };
  });
  afterAll(async () => {
    await Promise.all(Object.values(failures ?? {}));
    await world.close();
  });

  it('creates the database and runs the migrations at start-up', async () => {
    const [tables] = await world.sql.query('SHOW TABLES');
    const names = (tables as Array<Record<string, string>>).map((row) => Object.values(row)[0]);
    expect(names).toEqual(expect.arrayContaining(['app_users', 'oa_users', 'devices', 'cache_invalidations', 'migrations']));
  });

  it('GET /health answers 200 naming both dependencies, without secrets; /health/live touches neither', async () => {
    const ready = await api.get('/health');
    expect(ready.status).toBe(200);
    expect(ready.body.data.details).toMatchObject({ mysql: { status: 'up' }, redis: { status: 'up' } });
    expect(JSON.stringify(ready.body)).not.toMatch(/password|PASSWORD/);
    expect(await api.get('/health/live')).toEqual({ status: 200, body: { code: 200, msg: 'OK', data: { status: 'ok' } } });
  });

  it('a bad configuration value stops start-up with one JSON line naming the variable', async () => {
    const { code, output } = await failures.config;
    expectExit(code, 2, output);
    expect(jsonLines(output)).toEqual([
      expect.objectContaining({
        level: 60,
        context: 'Main',
        msg: expect.stringMatching(/^hi-server failed to start: Invalid configuration:\n {2}CACHE_TTL_SECONDS="soon"/),
      }),
    ]);
  });

  it('an unreachable database stops start-up naming the variables to check, in JSON to the last line', async () => {
    const { code, output } = await failures.mysql;
    expectExit(code, 1, output);
    const lines = jsonLines(output);
    expect(lines[lines.length - 1]).toEqual(
      expect.objectContaining({
        level: 60,
        context: 'Main',
        msg: expect.stringMatching(/^hi-server failed to start: MySQL at 127\.0\.0\.1:1 \(DB_HOST\/DB_PORT\/DB_USER\/DB_NAME\): .*ECONNREFUSED/),
        err: expect.objectContaining({ stack: expect.any(String) }),
      }),
    );
    expect(lines.filter((l) => l.level >= 50)).toHaveLength(1);
  });

  it('an unreachable Redis stops start-up naming the variables to check, in JSON to the last line', async () => {
    const { code, output } = await failures.redis;
    expectExit(code, 1, output);
    const lines = jsonLines(output);
    const variables = world.onCluster ? 'REDIS_CLUSTER_NODES' : 'REDIS_HOST\\/REDIS_PORT';
    expect(lines[lines.length - 1]).toEqual(
      expect.objectContaining({
        level: 60,
        context: 'Main',
        msg: expect.stringMatching(new RegExp(`^hi-server failed to start: Redis at .*:1.* \\(${variables}\\): `)),
      }),
    );
    expect(lines.filter((l) => l.level >= 50)).toHaveLength(1);
  });

  it('LOG_FORMAT=pretty writes the same lines for a person to read', async () => {
    const { code, output } = await failures.pretty;
    expectExit(code, 1, output);
    expect(output).not.toMatch(/^\{/m);
    expect(output).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] \S*FATAL\S*: \[Main\] hi-server failed to start: MySQL at 127\.0\.0\.1:1 /m);
  });
});
