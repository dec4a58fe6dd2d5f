import { uniqueEmail } from '../support/builders';
import { deviceLogin, emailCodeOf, staffLogin } from '../support/flows';
import { TestWorld } from '../support/test-app';

describe('email codes and binding under failure and concurrency', () => {
  let world: TestWorld;

  beforeAll(async () => {
    world = await TestWorld.create();
  });
  afterAll(() => world.close());

  it('a code is used once even by concurrent binds, and a free email is bound once', async () => {
    const { api } = await world.start();
    const a = await deviceLogin(api);
    const b = await deviceLogin(api);
    const email = uniqueEmail();
    await api.post('/me/email/code', { email }, a.token);
    const code = await emailCodeOf(world.redis, email, a.userId);
    const results = await Promise.all([a, b, a, b].map((u) => api.post('/me/email/bind', { email, code }, u.token)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.body.code === 20007)).toHaveLength(3);
    const [rows] = await world.sql.query('SELECT COUNT(*) AS n FROM app_users WHERE email = ?', [email]);
    expect((rows as Array<{ n: number }>)[0].n).toBe(1);
  });

  it("a bind refused because the email's account is disabled keeps the code, which works once the account is enabled again", async () => {
    const { api } = await world.start();
    const owner = await deviceLogin(api);
    const email = uniqueEmail();
    await api.post('/me/email/code', { email }, owner.token);
    expect((await api.post('/me/email/bind', { email, code: await emailCodeOf(world.redis, email, owner.userId) }, owner.token)).status).toBe(200);
    const admin = await staffLogin(api, world.admin.phone, world.admin.password);
    expect((await api.patch(`/admin/app-users/${owner.userId}`, { status: 2 }, admin)).status).toBe(200);

    const guest = await deviceLogin(api);
    await api.post('/me/email/code', { email }, guest.token);
    const code = await emailCodeOf(world.redis, email, guest.userId);
    const refused = await api.post('/me/email/bind', { email, code }, guest.token);
    expect([refused.status, refused.body.code]).toEqual([403, 20004]);
    expect(await emailCodeOf(world.redis, email, guest.userId)).toBe(code);

    expect((await api.patch(`/admin/app-users/${owner.userId}`, { status: 1 }, admin)).status).toBe(200);
    const bound = await api.post('/me/email/bind', { email, code }, guest.token);
    expect([bound.status, bound.body.data]).toEqual([200, expect.objectContaining({ migrated: true, userId: owner.userId })]);
    expect(await emailCodeOf(world.redis, email, guest.userId)).toBeNull(); // used up by the bind that happened
  });

  it('an email that cannot be sent answers 503 and neither keeps the code nor blocks the next attempt', async () => {
    const { api } = await world.start({ SMTP_URL: 'smtp://127.0.0.1:1', EMAIL_CODE_COOLDOWN_SECONDS: '60' });
    const user = await deviceLogin(api);
    const email = uniqueEmail();
    const res = await api.post('/me/email/code', { email }, user.token);
    expect([res.status, res.body.code]).toEqual([503, 100007]);
    expect(await world.redis.exists(`verify:email:${email}`, `verify:email:cooldown:${email}`)).toBe(0);
    expect((await api.post('/me/email/code', { email }, user.token)).body.code).toBe(100007); // not 100006
  });
});
