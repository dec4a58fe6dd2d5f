import { PASSWORD, uniqueEmail, uniquePhone } from '../support/builders';
import { deviceLogin, registerUser, staffLogin, createOperator } from '../support/flows';
import { Api } from '../support/http';
import { TestWorld } from '../support/test-app';

/** Every key of the world's Redis with its value, to prove a refused request changed nothing. */
async function snapshot(world: TestWorld): Promise<Record<string, string>> {
  const keys = (await world.redis.keys('*')).sort();
  const out: Record<string, string> = {};
  for (const key of keys) out[key] = (await world.redis.type(key)) === 'string' ? ((await world.redis.get(key)) ?? '') : 'non-string';
  return out;
}

const SESSION_PATTERNS = ['session:*', 'device:session:*', 'user_sessions:*', 'oa_session:*', 'oa_user_sessions:*', 'revoked:*'];

async function sessionKeys(world: TestWorld): Promise<string[]> {
  const all: string[] = [];
  for (const pattern of SESSION_PATTERNS) all.push(...(await world.redis.keys(pattern)));
  return all.sort();
}

describe('/admin/cache (CONTRACT section 6)', () => {
  let world: TestWorld;
  let api: Api;
  let admin: string;
  let operator: string;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ api } = await world.start());
    admin = await staffLogin(api, world.admin.phone, world.admin.password);
    ({ token: operator } = await createOperator(api, admin));
  });
  afterAll(() => world.close());

  describe('who may call it', () => {
    const writes: Array<[string, string]> = [
      ['DELETE', '/admin/cache?scope=all'],
      ['DELETE', '/admin/cache/phone/13800000000'],
      ['DELETE', '/admin/cache/id/1?scope=all'],
      ['GET', '/admin/cache/audit?scope=all&repair=true'],
      // Holds a request for the whole audit: operators audit in the background (POST /admin/cache/audits).
      ['GET', '/admin/cache/audit?scope=all'],
    ];
    const reads: Array<[string, string]> = [
      ['GET', '/admin/cache/health'],
      ['GET', '/admin/cache/keys?scope=all'],
      ['GET', '/admin/cache/phone/13800000000'],
      ['GET', '/admin/coherence'],
    ];

    const refusesStrangers = async (method: string, path: string, client: { token: string }) => {
      const none = await api.call(method, path);
      expect([none.status, none.body.code]).toEqual([401, 100003]);
      const clientToken = await api.call(method, path, { token: client.token });
      expect([clientToken.status, clientToken.body.code]).toEqual([401, 100003]);
      const bogus = await api.call(method, path, { token: 'not-a-token' });
      expect([bogus.status, bogus.body.code]).toEqual([401, 100003]);
    };

    it.each([...writes.map(([m, p]) => [m, p, 403, 100004] as const), ...reads.map(([m, p]) => [m, p, 200, 200] as const)])(
      '%s %s: 401 without a staff token; an operator gets %i / %i; nothing is deleted',
      async (method, path, status, code) => {
        await world.redis.set('cache:appUsers:phone:13800000000', '1');
        await world.redis.set('cache:appUsers:id:1', JSON.stringify({ id: 1, phone: '13800000000' }));
        const client = await deviceLogin(api);
        const before = await snapshot(world);
        await refusesStrangers(method, path, client);
        const op = await api.call(method, path, { token: operator });
        expect([op.status, op.body.code]).toEqual([status, code]);
        expect(await snapshot(world)).toEqual(before);
      },
    );
  });

  it('GET /phone/:phone shows what is cached for a phone without the password hash the cached row holds', async () => {
    const user = await registerUser(api);
    await api.post('/auth/login', { phone: user.phone, password: PASSWORD, identifier: user.identifier });
    expect(await world.redis.get(`cache:appUsers:id:${user.userId}`)).toContain('$argon2id$');
    const res = await api.get(`/admin/cache/phone/${user.phone}`, admin);
    expect(res.status).toBe(200);
    expect(res.body.data.entries.map((e: { key: string }) => e.key)).toEqual(
      expect.arrayContaining([`cache:appUsers:phone:${user.phone}`, `cache:appUsers:id:${user.userId}`]),
    );
    expect(JSON.stringify(res.body)).not.toContain('$argon2');
  });

  it('never shows a secret of a row another service wrote: any field naming one is redacted at any depth, an unreadable value is not shown', async () => {
    const rows: Record<string, string> = {
      'cache:appUsers:id:998': JSON.stringify({ Id: 998, Password: '$2b$goZeroHash', Phone: { String: '13800000998', Valid: true } }),
      'cache:appUsers:id:999': ` ${JSON.stringify({ id: 999, passwordHash: '$2b$leadingSpace', nested: { api_token: 'tok-secret', salt: 'pepper' } })}`,
      'cache:appUsers:id:997': 'Password=$2b$plainText',
    };
    for (const [key, value] of Object.entries(rows)) await world.redis.set(key, value);
    for (const token of [admin, operator]) {
      const entries = await Promise.all(
        ['998', '999', '997'].map(async (id) => (await api.get(`/admin/cache/id/${id}?scope=appUsers`, token)).body.data.entries[0].value as string),
      );
      expect(entries.join('\n')).not.toMatch(/\$2b\$|tok-secret|pepper/);
      expect(JSON.parse(entries[0])).toEqual({ Id: 998, Password: '[redacted]', Phone: { String: '13800000998', Valid: true } });
      expect(JSON.parse(entries[1]).nested).toEqual({ api_token: '[redacted]', salt: '[redacted]' });
      expect(entries[2]).toBe('(a value this service does not write, 22 bytes, not shown)');
    }
    await world.redis.del(...Object.keys(rows));
  });

  it('GET /health reports Redis reachable with host, port, db, round trip and version', async () => {
    const res = await api.get('/admin/cache/health', admin);
    expect(res.status).toBe(200);
    const info = await world.redis.info('server');
    expect(res.body.data).toEqual({
      reachable: true,
      ...world.redisTarget,
      roundTripMs: expect.any(Number),
      version: /redis_version:(\S+)/.exec(info)![1],
      ...(world.onCluster ? { cluster: expect.objectContaining({ state: 'ok', masters: 3, mastersAnswering: 3, slotsOk: 16384 }) } : {}),
    });
    expect(JSON.stringify(res.body)).not.toMatch(/password/i);
  });

  describe('refuses inputs that are not literally a phone, an id or a scope, before they reach Redis', () => {
    beforeEach(async () => {
      // Keys a glob would match if one slipped through.
      await world.redis.set('cache:appUsers:phone:13450000001', '41');
      await world.redis.set('cache:appUsers:id:41', JSON.stringify({ id: 41, phone: '13450000001' }));
      await world.redis.set('cache:oaUsers:phone:13450000002', '42');
      await world.redis.set('cache:appUsers:id:1', '*');
      await world.redis.set('cache:appUsers:id:12', '*');
    });

    const badPhones = ['1345*', '?', '[a]', '1 2', '%2A', '*', '13450000001*', '1345000000[0-9]', '1345\\*', 'abcde', '12', '+*'];
    it.each(badPhones)('DELETE /admin/cache/phone/%j is a 400 and deletes nothing', async (phone) => {
      const before = await snapshot(world);
      const res = await api.delete(`/admin/cache/phone/${encodeURIComponent(phone)}`, admin);
      expect([res.status, res.body.code]).toEqual([400, 100002]);
      expect(res.body.msg).toContain('phone');
      expect(await snapshot(world)).toEqual(before);
    });

    it('a glob typed straight into the path (%2A, raw *) is refused too', async () => {
      const before = await snapshot(world);
      for (const raw of ['1345%2A', '1345*', '%2A']) {
        const res = await api.delete(`/admin/cache/phone/${raw}`, admin);
        expect([raw, res.status, res.body.code]).toEqual([raw, 400, 100002]);
      }
      expect(await snapshot(world)).toEqual(before);
    });

    const badIds = ['1*', '*', '?', '[1]', '1 2', 'abc', '-1', '1.5', '%2A', '0x10', '123456789012345678901'];
    it.each(badIds)('DELETE /admin/cache/id/%j is a 400 and deletes nothing', async (id) => {
      const before = await snapshot(world);
      const res = await api.delete(`/admin/cache/id/${encodeURIComponent(id)}?scope=all`, admin);
      expect([res.status, res.body.code]).toEqual([400, 100002]);
      expect(res.body.msg).toContain('id');
      expect(await snapshot(world)).toEqual(before);
    });

    const badScopes = ['*', 'appUsers*', 'app?sers', '[a]ppUsers', 'sessions', 'session', '', 'ALL', 'appUsers:id'];
    it.each(badScopes)('scope=%j is a 400 on every route and deletes nothing', async (scope) => {
      const before = await snapshot(world);
      const q = encodeURIComponent(scope);
      for (const path of [`/admin/cache?scope=${q}`, `/admin/cache/id/41?scope=${q}`]) {
        const res = await api.delete(path, admin);
        expect([path, res.status, res.body.code]).toEqual([path, 400, 100002]);
        expect(res.body.msg).toContain('scope');
      }
      for (const path of [`/admin/cache/keys?scope=${q}`, `/admin/cache/audit?scope=${q}&repair=true`]) {
        const res = await api.get(path, admin);
        expect([path, res.status, res.body.code]).toEqual([path, 400, 100002]);
      }
      expect(await snapshot(world)).toEqual(before);
    });

    it('a bulk clear without a scope, devices as an id scope, and unknown query fields are 400', async () => {
      const before = await snapshot(world);
      for (const path of ['/admin/cache', '/admin/cache/id/41?scope=devices', '/admin/cache?scope=all&pattern=*']) {
        const res = await api.delete(path, admin);
        expect([path, res.status, res.body.code]).toEqual([path, 400, 100002]);
      }
      for (const path of [
        '/admin/cache/keys?count=0',
        '/admin/cache/keys?count=1001',
        '/admin/cache/keys?count=abc',
        '/admin/cache/keys?cursor=abc',
        '/admin/cache/keys?cursor=*',
        '/admin/cache/audit?repair=yes',
      ]) {
        const res = await api.get(path, admin);
        expect([path, res.status, res.body.code]).toEqual([path, 400, 100002]);
      }
      expect(await snapshot(world)).toEqual(before);
    });
  });

  it('GET /keys pages through a scope by cursor, with counts per scope, and never lists sessions', async () => {
    const tag = uniquePhone();
    const seeded: string[] = [];
    for (let i = 0; i < 250; i += 1) seeded.push(`cache:appUsers:id:${tag}${i}`);
    for (let i = 0; i < 30; i += 1) seeded.push(`cache:oaUsers:id:${tag}${i}`);
    for (let i = 0; i < 20; i += 1) seeded.push(`cache:devices:identifier:d-${tag}-${i}`);
    await world.redis.mset(...seeded.flatMap((k) => [k, '*']));
    await world.redis.set(world.keys.session(tag), '{}');
    await world.redis.set(world.keys.lease(`cache:appUsers:id:${tag}`), 'x');

    const expected = {
      appUsers: (await world.redis.keys('cache:appUsers:*')).length,
      oaUsers: (await world.redis.keys('cache:oaUsers:*')).length,
      devices: (await world.redis.keys('cache:devices:*')).length,
    };
    const listed: string[] = [];
    let cursor = '0';
    let pages = 0;
    do {
      const res = await api.get(`/admin/cache/keys?scope=appUsers&cursor=${cursor}&count=50`, admin);
      expect(res.status).toBe(200);
      expect(res.body.data.counts).toEqual({ ...expected, total: expected.appUsers + expected.oaUsers + expected.devices });
      listed.push(...res.body.data.keys);
      cursor = res.body.data.cursor;
      pages += 1;
    } while (cursor !== '0' && pages < 100);
    expect(pages).toBeGreaterThan(1);
    expect(new Set(listed)).toEqual(new Set(await world.redis.keys('cache:appUsers:*')));

    const all = await api.get('/admin/cache/keys?count=1000', admin);
    expect(all.body.data.scope).toBe('all');
    const everything: string[] = [...all.body.data.keys];
    for (let c = all.body.data.cursor; c !== '0';) {
      const next = await api.get(`/admin/cache/keys?count=1000&cursor=${c}`, admin);
      everything.push(...next.body.data.keys);
      c = next.body.data.cursor;
    }
    expect(everything.every((k: string) => k.startsWith('cache:'))).toBe(true);
    expect(everything).toEqual(expect.arrayContaining(seeded));
  });

  it('DELETE /phone/:phone removes the AppUser index and row keys (and the email index its row names), and the OaUser ones, nothing else', async () => {
    const user = await registerUser(api);
    const phone = user.phone!;
    // Logging in again on the same device replaces the registration token (CONTRACT section 3).
    const login = await api.post('/auth/login', { phone, password: PASSWORD, identifier: user.identifier }); // fills the phone index
    user.token = login.body.data.token;
    await api.get('/me', user.token); // fills the row
    const email = uniqueEmail();
    const rowKey = `cache:appUsers:id:${user.userId}`;
    const row = JSON.parse((await world.redis.get(rowKey))!);
    await world.redis.set(rowKey, JSON.stringify({ ...row, email }));
    await world.redis.set(`cache:appUsers:email:${email}`, String(user.userId));
    // A staff member sharing the phone (an OaUser is another table).
    await world.redis.set(`cache:oaUsers:phone:${phone}`, '777777');
    await world.redis.set('cache:oaUsers:id:777777', JSON.stringify({ id: 777777, phone }));
    const other = await registerUser(api);
    await api.get('/me', other.token);
    const sessionsBefore = await sessionKeys(world);
    await world.redis.set(world.keys.lease(`cache:appUsers:phone:${phone}`), 'someone-filling');
    expect(await world.redis.get(`cache:appUsers:phone:${phone}`)).toBe(String(user.userId));

    const res = await api.delete(`/admin/cache/phone/${phone}`, admin);
    expect(res.status).toBe(200);
    const expected = [
      `cache:appUsers:email:${email}`,
      rowKey,
      `cache:appUsers:phone:${phone}`,
      'cache:oaUsers:id:777777',
      `cache:oaUsers:phone:${phone}`,
    ].sort();
    expect(res.body.data).toEqual({ phone, deleted: expected });
    expect(await world.redis.exists(...expected)).toBe(0);
    expect(await world.redis.exists(world.keys.lease(`cache:appUsers:phone:${phone}`))).toBe(0);
    expect(await world.redis.exists(`cache:appUsers:id:${other.userId}`)).toBe(1);
    expect(await sessionKeys(world)).toEqual(sessionsBefore);
    expect((await api.get('/me', user.token)).status).toBe(200);

    const again = await api.delete(`/admin/cache/phone/${phone}`, admin);
    expect(again.body.data.deleted).toEqual([]);
  });

  it('DELETE /phone/:phone on a placeholder removes just the placeholder, so the next registration is seen', async () => {
    const phone = uniquePhone();
    await world.redis.set(`cache:appUsers:phone:${phone}`, '*');
    const res = await api.delete(`/admin/cache/phone/${phone}`, admin);
    expect(res.body.data.deleted).toEqual([`cache:appUsers:phone:${phone}`]);
  });

  it('DELETE /id/:id removes the row key and the index keys of that row, in the scope asked for only', async () => {
    const user = await registerUser(api);
    const login = await api.post('/auth/login', { phone: user.phone, password: PASSWORD, identifier: user.identifier });
    user.token = login.body.data.token;
    await api.get('/me', user.token);
    const id = user.userId;
    await world.redis.set(`cache:oaUsers:id:${id}`, JSON.stringify({ id, phone: '15500000000' }));
    await world.redis.set('cache:oaUsers:phone:15500000000', String(id));
    const sessionsBefore = await sessionKeys(world);

    const appOnly = await api.delete(`/admin/cache/id/${id}?scope=appUsers`, admin);
    expect(appOnly.status).toBe(200);
    expect(appOnly.body.data).toEqual({
      id: String(id),
      scope: 'appUsers',
      deleted: [`cache:appUsers:id:${id}`, `cache:appUsers:phone:${user.phone}`].sort(),
    });
    expect(await world.redis.exists(`cache:oaUsers:id:${id}`, 'cache:oaUsers:phone:15500000000')).toBe(2);

    const both = await api.delete(`/admin/cache/id/${id}`, admin);
    expect(both.body.data.scope).toBe('all');
    expect(both.body.data.deleted).toEqual([`cache:oaUsers:id:${id}`, 'cache:oaUsers:phone:15500000000']);
    expect(await sessionKeys(world)).toEqual(sessionsBefore);
    expect((await api.get('/me', user.token)).body.data.id).toBe(id);
  });

  it('DELETE /admin/cache?scope=appUsers clears that family only; scope=all clears every cache key and leaves every session working', async () => {
    const users = [await registerUser(api), await registerUser(api), await registerUser(api)];
    const devices = [await deviceLogin(api), await deviceLogin(api)];
    for (const u of [...users, ...devices]) expect((await api.get('/me', u.token)).status).toBe(200);
    await world.redis.set('cache:devices:identifier:some-device', '*');
    await world.redis.set('revoked:abc', 'migrated');
    const sessionsBefore = await sessionKeys(world);
    expect(sessionsBefore.length).toBeGreaterThan(10);

    const appUserKeys = (await world.redis.keys('cache:appUsers:*')).length;
    const others = (await world.redis.keys('cache:*')).filter((k) => !k.startsWith('cache:appUsers:')).sort();
    expect(appUserKeys).toBeGreaterThan(3);
    const scoped = await api.delete('/admin/cache?scope=appUsers', admin);
    expect(scoped.status).toBe(200);
    expect(scoped.body.data).toEqual({ scope: 'appUsers', deleted: appUserKeys, ms: expect.any(Number) });
    expect(await world.redis.keys('cache:appUsers:*')).toEqual([]);
    expect((await world.redis.keys('cache:*')).sort()).toEqual(others);

    for (const u of [...users, ...devices]) expect((await api.get('/me', u.token)).status).toBe(200);
    const total = (await world.redis.keys('cache:*')).length;
    const all = await api.delete('/admin/cache?scope=all', admin);
    expect(all.body.data).toMatchObject({ scope: 'all', deleted: total });
    expect(await world.redis.keys('cache:*')).toEqual([]);

    expect(await sessionKeys(world)).toEqual(sessionsBefore);
    for (const u of [...users, ...devices]) {
      const me = await api.get('/me', u.token);
      expect([me.status, me.body.data.id]).toEqual([200, u.userId]);
    }
    expect((await api.get('/admin/cache/health', admin)).status).toBe(200);
    const relogin = await api.post('/auth/login', { phone: users[0].phone, password: PASSWORD, identifier: users[0].identifier });
    expect(relogin.status).toBe(200);
  });
});
