import { join } from 'path';
import { PASSWORD, uniqueEmail, uniquePhone } from '../support/builders';
import { deviceLogin, registerUser } from '../support/flows';
import { Api } from '../support/http';
import { runCli } from '../../src/cli/cache.cli';
import { cliFromSource, ROOT, run, runInProcess } from '../support/cli';
import { freePort } from '../support/spawned-server';
import { TestWorld } from '../support/test-app';

const CLI = cliFromSource('cache');

async function allKeys(world: TestWorld): Promise<string[]> {
  return (await world.redis.keys('*')).sort();
}

async function sessionKeys(world: TestWorld): Promise<string[]> {
  const out: string[] = [];
  for (const p of ['session:*', 'device:session:*', 'user_sessions:*', 'oa_session:*', 'oa_user_sessions:*']) out.push(...(await world.redis.keys(p)));
  return out.sort();
}

describe('npm run cache and scripts/clear_user_cache.sh (CONTRACT section 7)', () => {
  let world: TestWorld;
  let api: Api;
  const cli = (args: string[], env: Record<string, string> = {}) => runInProcess(runCli, args, world.env(env));
  const script = (args: string[], env: Record<string, string> = {}) =>
    run(['bash', join(ROOT, 'scripts/clear_user_cache.sh'), ...args], world.env({ HI_CLI: CLI.join(' '), ...env }));

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ api } = await world.start());
  });
  afterAll(() => world.close());

  it('test: reports the Redis it reached and exits 0', async () => {
    const res = await cli(['--json', 'test']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ reachable: true, ...world.redisTarget });
    const human = await cli(['test']);
    expect(human.stdout.startsWith(`Redis ${JSON.parse(res.stdout).version} at ${world.redisDescription} answered in `)).toBe(true);
    if (world.onCluster) expect(human.stdout).toMatch(/, cluster ok: 3 of 3 masters answer, 16384 slots ok/);
  });

  it('exits 1 when Redis cannot be reached, for every verb', async () => {
    const port = String(await freePort());
    for (const args of [['test'], ['all'], ['phone', '13800000000'], ['id', '1'], ['list']]) {
      const res = await cli(args, world.unreachableRedis(port));
      expect([args, res.code]).toEqual([args, 1]);
      expect(res.stderr).toContain(`127.0.0.1:${port}`);
      expect(res.stderr).toContain('unreachable');
    }
  });

  it('exits 2 on a usage error and deletes nothing: unknown verb, no verb, globs, bad scopes, bad numbers, bad config', async () => {
    await world.redis.set('cache:appUsers:phone:13450000001', '41');
    await world.redis.set('cache:appUsers:id:41', '{"id":41}');
    await world.redis.set('cache:oaUsers:id:1', '*');
    const before = await allKeys(world);
    const cases: Array<[string[], Record<string, string>?]> = [
      [[]],
      [['bogus']],
      [['flush']],
      [['phone']],
      [['phone', '1345*']],
      [['phone', '?']],
      [['phone', '[a]']],
      [['phone', '1 2']],
      [['phone', '%2A']],
      [['phone', '*']],
      [['id', '*']],
      [['id', '4?']],
      [['id', '[4]1']],
      [['id', '41', '--scope', 'devices']],
      [['id', '-1']],
      [['all', '--scope', '*']],
      [['all', '--scope', 'sessions']],
      [['all', '--scope']],
      [['all', 'extra']],
      [['all', '--batch', '5']],
      [['all', '--batch', '1e9']],
      [['list', '--count', '0']],
      [['list', '--cursor', '*']],
      [['audit', '--scope', 'app*']],
      [['test'], { REDIS_PORT: 'not-a-port' }],
    ];
    for (const [args, env] of cases) {
      const res = await cli(args, env);
      expect([args, res.code]).toEqual([args, 2]);
      expect(res.stderr.length).toBeGreaterThan(0);
    }
    expect(await allKeys(world)).toEqual(before);
  });

  it('all: clears one scope, or every cache key, with SCAN + UNLINK, and leaves every session working', async () => {
    const users = [await registerUser(api), await registerUser(api)];
    const device = await deviceLogin(api);
    for (const u of [...users, device]) await api.get('/me', u.token);
    await world.redis.mset('cache:oaUsers:id:9', '*', 'cache:devices:identifier:x', '*', 'revoked:zzz', 'migrated');
    const sessions = await sessionKeys(world);
    expect(sessions.length).toBeGreaterThan(5);
    const appUserKeys = await world.redis.keys('cache:appUsers:*');
    expect(appUserKeys.length).toBeGreaterThan(2);

    const scoped = await cli(['--json', 'all', '--scope', 'appUsers']);
    expect(scoped.code).toBe(0);
    expect(JSON.parse(scoped.stdout)).toMatchObject({ scope: 'appUsers', deleted: appUserKeys.length });
    expect(await world.redis.keys('cache:appUsers:*')).toEqual([]);
    expect(await world.redis.exists('cache:oaUsers:id:9', 'cache:devices:identifier:x')).toBe(2);

    const everything = (await world.redis.keys('cache:*')).length;
    const all = await cli(['all']);
    expect(all.code).toBe(0);
    expect(all.stdout).toBe(`deleted ${everything} key(s) of scope all in ${/in (\d+) ms/.exec(all.stdout)![1]} ms\n`);
    expect(await world.redis.keys('cache:*')).toEqual([]);
    expect(await world.redis.get('revoked:zzz')).toBe('migrated');
    expect(await sessionKeys(world)).toEqual(sessions);
    for (const u of [...users, device]) expect((await api.get('/me', u.token)).status).toBe(200);
  });

  it('all: prints periodic progress lines on stderr when it is not a terminal', async () => {
    const keys = Array.from({ length: 20000 }, (_, i) => `cache:devices:identifier:p-${i}`);
    for (let i = 0; i < keys.length; i += 5000) await world.redis.mset(...keys.slice(i, i + 5000).flatMap((k) => [k, '*']));
    const res = await cli(['all', '--scope', 'devices', '--progress-interval', '0']); // a global option after the verb
    expect(res.code).toBe(0);
    const lines = res.stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(line).toMatch(/^clear devices: \d+\.\d% of the keyspace, deleted \d+, [\d.]+s$/);
    expect(lines[lines.length - 1]).toMatch(/100\.0% of the keyspace, deleted 20000,/);
    expect(await world.redis.keys('cache:devices:*')).toEqual([]);
  });

  it("phone: deletes the index keys of AppUser and OaUser, the rows they point at and those rows' other index keys", async () => {
    const phone = uniquePhone();
    const email = uniqueEmail();
    await world.redis.mset(
      `cache:appUsers:phone:${phone}`,
      '501',
      'cache:appUsers:id:501',
      JSON.stringify({ id: 501, phone, email }),
      `cache:appUsers:email:${email}`,
      '501',
      `cache:oaUsers:phone:${phone}`,
      '*',
      'cache:appUsers:id:502',
      JSON.stringify({ id: 502, phone: '13999999999' }),
    );
    const res = await cli(['--json', 'phone', phone]);
    expect(res.code).toBe(0);
    const expected = [`cache:appUsers:email:${email}`, 'cache:appUsers:id:501', `cache:appUsers:phone:${phone}`, `cache:oaUsers:phone:${phone}`];
    expect(JSON.parse(res.stdout)).toEqual({ phone, deleted: expected });
    expect(await world.redis.exists(...expected)).toBe(0);
    expect(await world.redis.exists('cache:appUsers:id:502')).toBe(1);
  });

  it('id: deletes the row and its index keys in the scope asked for', async () => {
    await world.redis.mset(
      'cache:appUsers:id:601',
      JSON.stringify({ id: 601, phone: '13600000601' }),
      'cache:appUsers:phone:13600000601',
      '601',
      'cache:oaUsers:id:601',
      JSON.stringify({ id: 601, phone: '13600000602' }),
    );
    const res = await cli(['id', '601', '--scope', 'appUsers']);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('cache:appUsers:id:601\ncache:appUsers:phone:13600000601\ndeleted 2 key(s)\n');
    expect(await world.redis.exists('cache:oaUsers:id:601')).toBe(1);
    const rest = await cli(['--json', 'id', '601']);
    expect(JSON.parse(rest.stdout)).toEqual({ id: '601', scope: 'all', deleted: ['cache:oaUsers:id:601'] });
  });

  it('list: pages by cursor with counts per scope', async () => {
    const ids = Array.from({ length: 120 }, (_, i) => 7000 + i);
    await world.redis.mset(...ids.flatMap((id) => [`cache:oaUsers:id:${id}`, '*']));
    await world.redis.set('session:not-listed', '{}');
    const listed: string[] = [];
    let cursor = '0';
    let pages = 0;
    do {
      const res = await cli(['--json', 'list', '--scope', 'oaUsers', '--count', '40', '--cursor', cursor]);
      expect(res.code).toBe(0);
      const page = JSON.parse(res.stdout);
      expect(page.counts.oaUsers).toBe((await world.redis.keys('cache:oaUsers:*')).length);
      listed.push(...page.keys);
      cursor = page.cursor;
      pages += 1;
    } while (cursor !== '0' && pages < 50);
    expect(pages).toBeGreaterThan(1);
    expect(new Set(listed)).toEqual(new Set(await world.redis.keys('cache:oaUsers:*')));
    const human = await cli(['list', '--scope', 'oaUsers', '--count', '1000']);
    expect(human.stdout).toMatch(/\nnext cursor: \d+\ncounts: appUsers=\d+ oaUsers=\d+ devices=\d+ total=\d+\n$/);
    expect(human.stdout).not.toContain('session:');
  });

  it('audit: reports stale entries against the database, --repair deletes them; exit 1 when MySQL is unreachable', async () => {
    const user = await registerUser(api);
    const login = await api.post('/auth/login', { phone: user.phone, password: PASSWORD, identifier: user.identifier });
    await api.get('/me', login.body.data.token);
    expect(await world.redis.exists(`cache:appUsers:id:${user.userId}`)).toBe(1);
    await world.sql.query('UPDATE app_users SET nickname = ? WHERE id = ?', ['changed-by-hand', user.userId]);

    const report = await cli(['audit', '--scope', 'appUsers']);
    expect(report.code).toBe(0);
    expect(report.stdout).toContain(`row_differs\tcache:appUsers:id:${user.userId}\tdiffers in nickname`);
    expect(await world.redis.exists(`cache:appUsers:id:${user.userId}`)).toBe(1);

    const repaired = await cli(['--json', 'audit', '--scope', 'appUsers', '--repair']);
    expect(repaired.code).toBe(0);
    const body = JSON.parse(repaired.stdout);
    expect(body.stale).toContainEqual({ key: `cache:appUsers:id:${user.userId}`, reason: 'row_differs', detail: 'differs in nickname' });
    expect(body.repaired).toBe(body.stale.length);
    expect(await world.redis.exists(`cache:appUsers:id:${user.userId}`)).toBe(0);

    const clean = await cli(['--json', 'audit', '--scope', 'appUsers']);
    expect(JSON.parse(clean.stdout).stale).toEqual([]);

    const down = await cli(['audit'], { DB_PORT: String(await freePort()) });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('MySQL');
  });

  /** Every verb and the start of its description, as --help lists them. */
  const VERBS: Array<[string, string]> = [
    ['all', 'delete every key of a scope'],
    ['phone', 'delete the AppUser and OaUser index keys'],
    ['id', 'delete the row key of an id'],
    ['list', 'one page of keys from a cursor'],
    ['test', 'check that Redis answers'],
    ['audit', 'compare cached rows and index keys'],
    ['help', 'display help for the command line'],
  ];

  it('--help, -h and help print every verb with its description on stdout and exit 0; help VERB explains one verb', async () => {
    for (const args of [['--help'], ['-h'], ['help'], ['--json', '--help']]) {
      const res = await cli(args);
      expect([args, res.code, res.stderr]).toEqual([args, 0, '']);
      expect(res.stdout).toMatch(/^Usage: cache \[options\] \[command\]\n/);
      expect(res.stdout).toMatch(/\n {2}--json +print the answer as one line of JSON\n/);
      for (const [verb, description] of VERBS)
        expect([verb, res.stdout]).toEqual([verb, expect.stringMatching(new RegExp(`\\n {2}${verb}\\b[^\\n]* ${description}`))]);
    }
    for (const args of [
      ['help', 'list'],
      ['list', '--help'],
      ['list', '-h'],
    ]) {
      const res = await cli(args);
      expect([args, res.code, res.stderr]).toEqual([args, 0, '']);
      expect(res.stdout).toMatch(/^Usage: cache list \[options\]\n/);
      expect(res.stdout).toContain('--cursor <cursor>');
      expect(res.stdout).toMatch(/\nGlobal Options:\n {2}--json +print the answer as one line of JSON\n/);
    }
  });

  it('takes the global options before or after the verb, its arguments and its options', async () => {
    const health = { reachable: true, ...world.redisTarget };
    const cleared = { id: '8101', scope: 'oaUsers', deleted: ['cache:oaUsers:id:8101'] };
    const cases: Array<[string[], unknown]> = [
      [['--json', 'test'], health],
      [['test', '--json'], health],
      [['--json', 'id', '8101', '--scope', 'oaUsers'], cleared],
      [['id', '--json', '8101', '--scope', 'oaUsers'], cleared],
      [['id', '8101', '--json', '--scope', 'oaUsers'], cleared],
      [['id', '8101', '--scope', 'oaUsers', '--json'], cleared],
    ];
    for (const [args, answer] of cases) {
      await world.redis.set('cache:oaUsers:id:8101', '*');
      const res = await cli(args);
      expect([args, res.code, res.stderr]).toEqual([args, 0, '']);
      // Only --json makes the answer JSON: the human form of these answers does not parse.
      expect([args, JSON.parse(res.stdout)]).toEqual([args, expect.objectContaining(answer as object)]);
      expect(await world.redis.exists('cache:oaUsers:id:8101')).toBe(args.includes('id') ? 0 : 1);
    }
  });

  it('refuses an unknown verb or option with exit 2, a message on stderr and nothing on stdout', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['bogus'], /^error: unknown command 'bogus'\n/],
      [['--json', 'bogus'], /^error: unknown command 'bogus'\n/],
      [['bogus', '--json'], /^error: unknown command 'bogus'\n/],
      [['help', 'bogus'], /^error: unknown command 'bogus'\n/],
      [['tset'], /^error: unknown command 'tset'\n\(Did you mean test\?\)\n/],
      [['test', '--bogus'], /^error: unknown option '--bogus'\n/],
      [['--bogus', 'test'], /^error: unknown option '--bogus'\n/],
      [['--scope', 'appUsers', 'all'], /^error: unknown option '--scope'\n/],
      [['--json'], /\nerror: no command given: name one of the commands above\n$/],
      [[], /\nerror: no command given: name one of the commands above\n$/],
    ];
    for (const [args, message] of cases) {
      const res = await cli(args);
      expect([args, res.code, res.stdout]).toEqual([args, 2, '']);
      expect([args, res.stderr]).toEqual([args, expect.stringMatching(message)]);
      expect(res.stderr).toContain('Usage: cache');
    }
  });

  it('npm run cache -- --json test (the documented form) and scripts/clear_user_cache.sh run the CLI as its own process', async () => {
    // npm -> scripts/clear_user_cache.sh -> scripts/run-cli.sh -> the CLI (from source: HI_CLI).
    const res = await run(['npm', 'run', 'cache', '--', '--json', 'test'], world.env({ HI_CLI: CLI.join(' '), npm_config_update_notifier: 'false' }));
    expect([res.code, res.stderr]).toEqual([0, '']);
    const lines = res.stdout.trimEnd().split('\n');
    // npm writes its banner ("> hi-server@0.1.0 cache" and the script's line) first; `npm run -s` leaves it out.
    expect(lines.slice(0, -1).filter((line) => line !== '' && !line.startsWith('> '))).toEqual([]);
    expect(lines).toContain('> bash scripts/clear_user_cache.sh --json test');
    expect(JSON.parse(lines[lines.length - 1])).toMatchObject({ reachable: true, ...world.redisTarget });

    const refused = await script(['flushall']);
    expect([refused.code, refused.stdout]).toEqual([2, '']);
    expect(refused.stderr).toMatch(/^error: unknown command 'flushall'\n/);
  });
});
