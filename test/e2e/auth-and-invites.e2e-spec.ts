import { PASSWORD, uniqueIdentifier, uniquePhone } from '../support/builders';
import { deviceLogin, registerUser, staffLogin } from '../support/flows';
import { Api } from '../support/http';
import { TestWorld } from '../support/test-app';

describe('auth, staff separation, validation and invites (CONTRACT sections 2 and 3)', () => {
  let world: TestWorld;
  let api: Api;
  let adminToken: string;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ api } = await world.start());
    adminToken = await staffLogin(api, world.admin.phone, world.admin.password);
  });
  afterAll(() => world.close());

  it('stores only the SHA-256 of a token and the three session entries', async () => {
    const login = await deviceLogin(api);
    expect(login.token.length).toBeGreaterThanOrEqual(22); // >= 128 bits in base64url
    const keys = await world.redis.keys('*');
    expect(keys.some((k) => k.includes(login.token))).toBe(false);
    const sessionKeys = keys.filter((k) => k.startsWith('session:'));
    // session:<sha256 hex>, or session:{<sha256 hex>} on a Redis Cluster (the tag keeps it with its tombstone).
    const raw = await world.redis.get(sessionKeys.find((k) => /^session:(\{[0-9a-f]{64}\}|[0-9a-f]{64})$/.test(k)) as string);
    expect(JSON.parse(raw as string)).toEqual(
      expect.objectContaining({ userId: expect.any(Number), identifier: expect.any(String), issuedAt: expect.any(Number) }),
    );
    expect(await world.redis.zcard(`user_sessions:${login.userId}`)).toBe(1);
  });

  it('a device login of a known device returns the same user; an unknown one a new guest', async () => {
    const first = await deviceLogin(api);
    const again = await deviceLogin(api, first.identifier, first.deviceSecret);
    const other = await deviceLogin(api);
    expect(again.userId).toBe(first.userId);
    expect(again.deviceId).toBe(first.deviceId);
    expect(other.userId).not.toBe(first.userId);
  });

  it('concurrent first logins neither deadlock nor split one device across users', async () => {
    const distinct = await Promise.all([...Array(40)].map(() => api.post('/auth/device', { identifier: uniqueIdentifier() })));
    expect(distinct.map((r) => r.status)).toEqual(Array(40).fill(200));
    const shared = uniqueIdentifier();
    const same = await Promise.all([...Array(10)].map(() => api.post('/auth/device', { identifier: shared })));
    // The first login creates the device and its secret; the others, without it, change nothing.
    expect(same.filter((r) => r.status === 200)).toHaveLength(1);
    expect(same.filter((r) => r.status === 401).map((r) => r.body.code)).toEqual(Array(9).fill(20013));
    const [rows] = await world.sql.query('SELECT COUNT(*) AS n FROM devices WHERE identifier = ?', [shared]);
    expect((rows as Array<{ n: number }>)[0].n).toBe(1);
  });

  it('more concurrent writes than pooled connections complete (after-commit work reuses the connection)', async () => {
    const { api: small } = await world.start({ DB_POOL_SIZE: '2' });
    const results = await Promise.all([...Array(12)].map(() => small.post('/auth/device', { identifier: uniqueIdentifier() })));
    expect(results.map((r) => r.status)).toEqual(Array(12).fill(200));
  });

  it('staff tokens never work on client routes and client tokens never on /oa or /admin routes', async () => {
    const client = await deviceLogin(api);
    expect((await api.get('/me', adminToken)).status).toBe(401);
    expect((await api.get('/admin/app-users', client.token)).status).toBe(401);
    expect((await api.get('/admin/oa-users', client.token)).status).toBe(401);
    expect((await api.get('/admin/app-users')).body.code).toBe(100003);
    expect((await api.get('/me')).body.code).toBe(100003);
  });

  it('operators may read app users but not change them; admins manage staff', async () => {
    const phone = uniquePhone();
    const created = await api.post('/admin/oa-users', { phone, password: PASSWORD, name: 'Op', role: 'operator' }, adminToken);
    expect(created.status).toBe(201);
    expect(created.body.data).toEqual({ id: expect.any(Number), phone, name: 'Op', role: 'operator', status: 1 });
    const operator = await staffLogin(api, phone, PASSWORD);
    const user = await registerUser(api);
    expect((await api.get(`/admin/app-users/${user.userId}`, operator)).status).toBe(200);
    expect((await api.get(`/admin/app-users?phone=${user.phone}`, operator)).body.data.items[0].id).toBe(user.userId);
    const refused = await api.patch(`/admin/app-users/${user.userId}`, { status: 2 }, operator);
    expect([refused.status, refused.body.code]).toEqual([403, 100004]);
    expect((await api.delete(`/admin/app-users/${user.userId}`, operator)).status).toBe(403);
    expect((await api.get('/admin/oa-users', operator)).status).toBe(403);
    const promoted = await api.patch(`/admin/oa-users/${created.body.data.id}`, { role: 'admin' }, adminToken);
    expect(promoted.body.data.role).toBe('admin');
    expect((await api.get('/admin/oa-users', operator)).status).toBe(200); // role read from the row at once
  });

  it('lists app users by cursor', async () => {
    for (let i = 0; i < 3; i += 1) await registerUser(api);
    const page1 = await api.get('/admin/app-users?limit=2', adminToken);
    expect(page1.body.data.items).toHaveLength(2);
    const page2 = await api.get(`/admin/app-users?limit=2&cursor=${page1.body.data.nextCursor}`, adminToken);
    expect(page2.body.data.items[0].id).toBeGreaterThan(page1.body.data.items[1].id);
    // The last page says so even when it is exactly full: no extra empty request.
    const [rows] = await world.sql.query('SELECT id FROM app_users ORDER BY id DESC LIMIT 3');
    const [last, beforeLast, third] = (rows as Array<{ id: number }>).map((r) => r.id);
    const full = await api.get(`/admin/app-users?limit=2&cursor=${third}`, adminToken);
    expect(full.body.data).toEqual({ items: [expect.objectContaining({ id: beforeLast }), expect.objectContaining({ id: last })], nextCursor: null });
    const notLast = await api.get(`/admin/app-users?limit=1&cursor=${third}`, adminToken);
    expect(notLast.body.data.nextCursor).toBe(beforeLast);
    expect((await api.get('/admin/app-users?limit=0', adminToken)).body.code).toBe(100002);
    expect((await api.get('/admin/app-users/abc', adminToken)).body.code).toBe(100002);
    expect((await api.get('/admin/app-users/999999', adminToken)).status).toBe(404);
  });

  it('rejects unknown fields and bad values with 100002 naming the field, and malformed JSON as 400', async () => {
    const unknown = await api.post('/auth/device', { identifier: uniqueIdentifier(), admin: true });
    expect([unknown.status, unknown.body.code]).toEqual([400, 100002]);
    expect(unknown.body.msg).toContain('admin');
    const badPhone = await api.post('/auth/register', { phone: '12*34', password: PASSWORD, identifier: uniqueIdentifier() });
    expect(badPhone.body.msg).toMatch(/^phone: /);
    const malformed = await api.call('POST', '/auth/device', { raw: '{"identifier": ' });
    expect([malformed.status, malformed.body.code]).toEqual([400, 100002]);
    const notFound = await api.get('/no/such/route');
    expect([notFound.status, notFound.body.code]).toEqual([404, 100008]);
  });

  it('a phone is at most 20 characters, the + included, as its columns hold: one longer is 400, never a database failure', async () => {
    const digits = (n: number) => String(Date.now()).padEnd(n, '7').slice(0, n);
    const tooLong = `+${digits(20)}`;
    for (const [path, body, token] of [
      ['/auth/register', { phone: tooLong, password: PASSWORD, identifier: uniqueIdentifier() }, undefined],
      ['/auth/login', { phone: tooLong, password: PASSWORD, identifier: uniqueIdentifier() }, undefined],
      ['/admin/oa-users', { phone: tooLong, password: PASSWORD, name: 'x', role: 'operator' }, adminToken],
    ] as const) {
      const res = await api.post(path, body, token);
      expect([path, res.status, res.body.code, res.body.msg]).toEqual([
        path,
        400,
        100002,
        'phone: phone must be 5-20 characters: digits, optionally after a +',
      ]);
    }
    const longest = `+${digits(19)}`;
    const registered = await api.post('/auth/register', { phone: longest, password: PASSWORD, identifier: uniqueIdentifier() });
    expect([registered.status, registered.body.code]).toEqual([201, 200]);
    expect((await api.get('/me', registered.body.data.token)).body.data.phone).toBe(longest);
  });

  describe('invite codes', () => {
    it('20009 with msg 无邀请码 for an unknown code, both at registration and afterwards', async () => {
      const user = await registerUser(api);
      const res = await api.post('/me/invite-code', { inviteCode: 'NOSUCH99' }, user.token);
      expect([res.status, res.body]).toEqual([400, { code: 20009, msg: '无邀请码' }]);
      const reg = await api.post('/auth/register', { phone: uniquePhone(), password: PASSWORD, identifier: uniqueIdentifier(), inviteCode: 'NOSUCH99' });
      expect(reg.body).toEqual({ code: 20009, msg: '无邀请码' });
    });

    it('binds once; refuses the own code and a second binding with their own codes', async () => {
      const inviter = await registerUser(api);
      const invitee = await registerUser(api);
      const code = (await api.get('/me', inviter.token)).body.data.referCode;
      expect(code).toMatch(/^[A-Z2-9]{8}$/);
      const own = await api.post('/me/invite-code', { inviteCode: (await api.get('/me', invitee.token)).body.data.referCode }, invitee.token);
      expect(own.body.code).toBe(20010);
      const bound = await api.post('/me/invite-code', { inviteCode: code }, invitee.token);
      expect(bound.body).toEqual({ code: 200, msg: 'OK', data: { referrerId: inviter.userId } });
      expect((await api.get('/me', invitee.token)).body.data.referrerId).toBe(inviter.userId);
      const second = await api.post('/me/invite-code', { inviteCode: code }, invitee.token);
      expect([second.status, second.body.code]).toEqual([409, 20011]);
    });

    it('a failing database query answers 100005, never 20009', async () => {
      const user = await registerUser(api);
      await world.sql.query('ALTER TABLE app_users RENAME COLUMN refer_code TO refer_code_gone');
      try {
        const res = await api.post('/me/invite-code', { inviteCode: 'ABCD2345' }, user.token);
        expect([res.status, res.body.code, res.body.msg]).toEqual([500, 100005, 'database query failed']);
        expect(JSON.stringify(res.body)).not.toMatch(/refer_code|SELECT|Unknown column/);
      } finally {
        await world.sql.query('ALTER TABLE app_users RENAME COLUMN refer_code_gone TO refer_code');
      }
      expect((await api.post('/me/invite-code', { inviteCode: 'ABCD2345' }, user.token)).body.code).toBe(20009);
    });
  });
});

describe('rate limits (CONTRACT section 8)', () => {
  let world: TestWorld;
  let api: Api;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ api } = await world.start({ AUTH_RATE_LIMIT_PER_MINUTE: '5', LOGIN_FAILURES_PER_PHONE: '3', EMAIL_CODE_COOLDOWN_SECONDS: '60' }));
  });
  afterAll(() => world.close());

  /** Each test starts with the address's whole request budget (one budget across routes). */
  const forgetRateLimits = async () => {
    const keys = await world.redis.keys('*auth-rate:*');
    if (keys.length > 0) await world.redis.del(...keys);
  };

  it('limits failed logins per phone, not successful ones', async () => {
    const { phone, identifier } = await registerUser(api);
    await forgetRateLimits();
    for (let i = 0; i < 3; i += 1) expect((await api.post('/auth/login', { phone, password: 'wrong-password', identifier })).body.code).toBe(20003);
    const limited = await api.post('/auth/login', { phone, password: PASSWORD, identifier });
    expect([limited.status, limited.body.code]).toEqual([429, 100006]);
  });

  it('limits auth requests per client address and the email code per email', async () => {
    await forgetRateLimits();
    const user = await deviceLogin(api);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await api.post('/auth/device', { identifier: uniqueIdentifier() })).status);
    expect(statuses).toContain(429);
    const email = 'limit@example.test';
    const first = await api.post('/me/email/code', { email }, user.token);
    const second = await api.post('/me/email/code', { email }, user.token);
    expect(first.status === 200 || first.status === 429).toBe(true);
    expect(second.body.code).toBe(100006);
    expect((await api.get('/me', user.token)).status).toBe(200); // other routes are not limited
  });
});
