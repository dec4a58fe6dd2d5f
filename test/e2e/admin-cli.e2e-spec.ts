import type { Cluster } from 'ioredis';
import { join } from 'path';
import { PASSWORD, uniquePhone } from '../support/builders';
import { staffLogin } from '../support/flows';
import { Api } from '../support/http';
import { runAdminCli } from '../../src/cli/admin.cli';
import { cliFromSource, ROOT, run, runInProcess } from '../support/cli';
import { freePort } from '../support/spawned-server';
import { TestWorld } from '../support/test-app';
import { eventually } from '../support/wait';

const CLI = cliFromSource('admin');
const NEW_PASSWORD = 'admin-cli-pass-7';

describe('npm run admin -- create PHONE (CONTRACT sections 3 and 7: the first admin from the command line)', () => {
  let world: TestWorld;
  let api: Api;
  let adminToken: string;
  const cli = (args: string[], env: Record<string, string> = {}) => runInProcess(runAdminCli, args, world.env({ ADMIN_PASSWORD: NEW_PASSWORD, ...env }));

  const staffRow = async (phone: string) => {
    const [rows] = await world.sql.query('SELECT id, name, role, status FROM oa_users WHERE phone = ?', [phone]);
    return (rows as Array<{ id: number; name: string; role: string; status: number }>)[0];
  };
  const staffCount = async () => {
    const [rows] = await world.sql.query('SELECT COUNT(*) AS n FROM oa_users');
    return Number((rows as Array<{ n: number }>)[0].n);
  };
  /** The command's own connections to this world's Redis, found by the name it gives them (none once it returned). */
  const cliConnections = async () => {
    const nodes = world.onCluster ? (world.redis as unknown as Cluster).nodes('master') : [world.redis];
    const lists = await Promise.all(nodes.map((node) => node.client('LIST') as Promise<string>));
    const db = world.onCluster ? 0 : world.redisTarget.db;
    return lists
      .join('\n')
      .split('\n')
      .filter((line) => line.includes(' name=hi-admin-cli ') && line.includes(` db=${db} `));
  };
  const noCliConnections = () => eventually('the command closed its Redis connections', cliConnections, (open) => open.length === 0, 2000);
  const createOperator = async (phone: string) => {
    const res = await api.post('/admin/oa-users', { phone, password: PASSWORD, name: 'op', role: 'operator' }, adminToken);
    expect(res.status).toBe(201);
    return res.body.data.id as number;
  };

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ api } = await world.start());
    adminToken = await staffLogin(api, world.admin.phone, world.admin.password);
  });
  afterAll(() => world.close());

  it('creates an admin for a new phone ("created", exit 0); the password from ADMIN_PASSWORD logs in with admin rights', async () => {
    const phone = uniquePhone();
    const res = await cli(['create', phone, '--name', 'Night shift']);
    expect([res.code, res.stdout, res.stderr]).toEqual([0, 'created\n', '']);
    await noCliConnections();
    expect(await staffRow(phone)).toMatchObject({ name: 'Night shift', role: 'admin', status: 1 });
    const token = await staffLogin(api, phone, NEW_PASSWORD);
    expect((await api.get('/admin/oa-users', token)).status).toBe(200);
  });

  it('leaves an existing phone alone without --reset ("exists", exit 0): its password and role are unchanged', async () => {
    const phone = uniquePhone();
    await createOperator(phone);
    const res = await cli(['create', phone]);
    expect([res.code, res.stdout]).toEqual([0, 'exists\n']);
    expect(await staffRow(phone)).toMatchObject({ role: 'operator', status: 1 });
    expect((await api.post('/oa/auth/login', { phone, password: NEW_PASSWORD })).body.code).toBe(20003);
    await staffLogin(api, phone, PASSWORD);
  });

  it('--reset: the staff user gets the new password and role admin, and its old tokens stop working ("reset")', async () => {
    const phone = uniquePhone();
    await createOperator(phone);
    const oldToken = await staffLogin(api, phone, PASSWORD);
    expect((await api.get('/admin/app-users', oldToken)).status).toBe(200);

    const res = await cli(['create', phone, '--reset']);
    expect([res.code, res.stdout]).toEqual([0, 'reset\n']);
    expect(await staffRow(phone)).toMatchObject({ name: 'op', role: 'admin', status: 1 });
    expect((await api.get('/admin/app-users', oldToken)).status).toBe(401);
    expect((await api.post('/oa/auth/login', { phone, password: PASSWORD })).body.code).toBe(20003);
    const token = await staffLogin(api, phone, NEW_PASSWORD);
    expect((await api.get('/admin/oa-users', token)).status).toBe(200);
  });

  it('--reset lets a staff user locked out by failed logins in at once', async () => {
    const { api: limited } = await world.start({ LOGIN_FAILURES_PER_PHONE: '2' });
    const phone = uniquePhone();
    await createOperator(phone);
    for (let i = 0; i < 2; i++) expect((await limited.post('/oa/auth/login', { phone, password: 'not-it-1' })).body.code).toBe(20003);
    expect((await limited.post('/oa/auth/login', { phone, password: PASSWORD })).status).toBe(429);

    expect((await cli(['create', phone, '--reset'])).stdout).toBe('reset\n');
    await staffLogin(limited, phone, NEW_PASSWORD);
  });

  it('--reset re-enables a disabled staff user (and renames it with --name)', async () => {
    const phone = uniquePhone();
    const id = await createOperator(phone);
    expect((await api.patch(`/admin/oa-users/${id}`, { status: 2 }, adminToken)).status).toBe(200);
    expect((await api.post('/oa/auth/login', { phone, password: PASSWORD })).body.code).toBe(20004);

    const res = await cli(['create', '--reset', '--name', 'Back again', phone]); // options before the phone, too
    expect([res.code, res.stdout]).toEqual([0, 'reset\n']);
    expect(await staffRow(phone)).toMatchObject({ id, name: 'Back again', role: 'admin', status: 1 });
    const token = await staffLogin(api, phone, NEW_PASSWORD);
    expect((await api.get('/admin/oa-users', token)).status).toBe(200);
  });

  it('--reset of a new phone creates it', async () => {
    const phone = uniquePhone();
    const res = await cli(['create', phone, '--reset']);
    expect([res.code, res.stdout]).toEqual([0, 'created\n']);
    await staffLogin(api, phone, NEW_PASSWORD);
  });

  it('exits 2 on a usage error and creates nothing: bad phone, no or short password, unknown verb, bad name', async () => {
    const before = await staffCount();
    const phone = uniquePhone();
    const cases: Array<[string[], Record<string, string>?]> = [
      [[]],
      [['bogus', phone]],
      [['delete', phone]],
      [['create']],
      [['create', '12a45678']],
      [['create', '1234']],
      [['create', '*']],
      [['create', `${phone}9999999999999`]],
      [['create', phone], { ADMIN_PASSWORD: '' }],
      [['create', phone], { ADMIN_PASSWORD: 'short7' }],
      [['create', phone], { ADMIN_PASSWORD: 'x'.repeat(129) }],
      [['create', phone, '--name', '']],
      [['create', phone, '--name', 'n'.repeat(65)]],
      [['create', phone, '--bogus']],
      [['create', phone, NEW_PASSWORD]],
      [['create', phone], { REDIS_PORT: 'not-a-port' }],
    ];
    for (const [args, env] of cases) {
      const res = await cli(args, env);
      expect([args, env, res.code]).toEqual([args, env, 2]);
      expect(res.stderr.length).toBeGreaterThan(0);
      expect(res.stdout).toBe('');
    }
    const noPassword = world.env();
    delete (noPassword as Record<string, string | undefined>).ADMIN_PASSWORD;
    const res = await runInProcess(runAdminCli, ['create', phone], noPassword as Record<string, string>);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('ADMIN_PASSWORD');
    expect(await staffCount()).toBe(before);
  });

  it('exits 1 when MySQL or Redis cannot be reached, naming it', async () => {
    const port = String(await freePort());
    const noRedis = await cli(['create', uniquePhone()], world.unreachableRedis(port));
    expect(noRedis.code).toBe(1);
    expect(noRedis.stderr).toMatch(new RegExp(`Redis at (cluster )?127\\.0\\.0\\.1:${port}`));
    const noMysql = await cli(['create', uniquePhone()], { DB_PORT: port });
    expect(noMysql.code).toBe(1);
    expect(noMysql.stderr).toContain(`MySQL at ${world.dbServer.host}:${port}`);
    // Nest never started, so nothing of it closes the Redis connection the command opened: the command does.
    await noCliConnections();
  });

  it('--help, -h and help print every verb with its description on stdout and exit 0; help create explains create', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const res = await cli(args);
      expect([args, res.code, res.stderr]).toEqual([args, 0, '']);
      expect(res.stdout).toMatch(/^Usage: admin \[options\] \[command\]\n/);
      expect(res.stdout).toMatch(/\nCommands:\n {2}create \[options\] <phone> +create an admin staff user if the phone is new\n/);
      expect(res.stdout).toMatch(/\n {2}help \[command\] +display help for the command line/);
    }
    for (const args of [
      ['help', 'create'],
      ['create', '--help'],
      ['create', '-h'],
    ]) {
      const res = await cli(args);
      expect([args, res.code, res.stderr]).toEqual([args, 0, '']);
      expect(res.stdout).toMatch(/^Usage: admin create \[options\] <phone>\n/);
      expect(res.stdout).toMatch(/\n {2}--reset +an existing staff user/);
    }
  });

  it('refuses an unknown verb or option with exit 2, a message on stderr and nothing on stdout', async () => {
    const phone = uniquePhone();
    const cases: Array<[string[], RegExp]> = [
      [['bogus'], /^error: unknown command 'bogus'\n/],
      [['help', 'bogus'], /^error: unknown command 'bogus'\n/],
      [['creat', phone], /^error: unknown command 'creat'\n\(Did you mean create\?\)\n/],
      [['create', phone, '--bogus'], /^error: unknown option '--bogus'\n/],
      [['--reset', 'create', phone], /^error: unknown option '--reset'\n/],
      [[], /\nerror: no command given: name one of the commands above\n$/],
    ];
    for (const [args, message] of cases) {
      const res = await cli(args);
      expect([args, res.code, res.stdout]).toEqual([args, 2, '']);
      expect([args, res.stderr]).toEqual([args, expect.stringMatching(message)]);
      expect(res.stderr).toContain('Usage: admin');
    }
    expect(await staffRow(phone)).toBeUndefined();
  });

  it('npm run admin (scripts/run-cli.sh admin) runs the same CLI as its own process', async () => {
    const phone = uniquePhone();
    const res = await run(
      ['bash', join(ROOT, 'scripts/run-cli.sh'), 'admin', 'create', phone],
      world.env({ ADMIN_PASSWORD: NEW_PASSWORD, HI_CLI: CLI.join(' ') }),
    );
    expect([res.code, res.stdout]).toEqual([0, 'created\n']);
    await staffLogin(api, phone, NEW_PASSWORD);
  });
});
