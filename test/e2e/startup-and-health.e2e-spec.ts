import { spawn } from 'child_process';
import { join } from 'path';
import { Api } from '../support/http';
import { TestWorld } from '../support/test-app';

function runMain(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
      cwd: join(__dirname, '..', '..'),
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('start-up and health (CONTRACT sections 3 and 8)', () => {
  let world: TestWorld;
  let api: Api;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ api } = await world.start());
  });
  afterAll(() => world.close());

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

  it('a bad configuration value stops start-up with a message naming the variable', async () => {
    const { code, output } = await runMain(world.env({ CACHE_TTL_SECONDS: 'soon' }));
    expect(code).toBe(2);
    const line = JSON.parse(output.split('\n').find((l) => l.startsWith('{'))!);
    expect(line).toMatchObject({ level: 60, msg: expect.stringContaining('CACHE_TTL_SECONDS="soon"') });
  });

  it('an unreachable database stops start-up naming the variables to check', async () => {
    const { code, output } = await runMain(world.env({ DB_PORT: '1' }));
    expect(code).toBe(1);
    expect(output).toMatch(/MySQL at 127\.0\.0\.1:1 \(DB_HOST\/DB_PORT/);
  });
});
