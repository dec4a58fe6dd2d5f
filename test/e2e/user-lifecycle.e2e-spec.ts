import { PASSWORD, uniqueIdentifier, uniquePhone } from '../support/builders';
import { registerUser, staffLogin } from '../support/flows';
import { Api } from '../support/http';
import { TestWorld } from '../support/test-app';

describe('a user from registration to deletion (CONTRACT sections 3 and 4)', () => {
  let world: TestWorld;
  let api: Api;
  let adminToken: string;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ api } = await world.start());
    adminToken = await staffLogin(api, world.admin.phone, world.admin.password);
  });
  afterAll(() => world.close());

  it('register, login, GET /me through the cache; disable answers 20004 at once; delete frees the phone at once', async () => {
    const phone = uniquePhone();
    const identifier = uniqueIdentifier();
    const registered = await registerUser(api, phone, identifier);

    const login = await api.post('/auth/login', { phone, password: PASSWORD, identifier });
    expect(login.status).toBe(200);
    const me = await api.get('/me', login.body.data.token);
    expect(me.status).toBe(200);
    expect(me.body.data).toMatchObject({ id: registered.userId, phone, status: 1 });
    expect(await world.redis.exists(`cache:appUsers:id:${registered.userId}`, `cache:appUsers:phone:${phone}`)).toBe(2);
    expect(await world.redis.get(`cache:appUsers:phone:${phone}`)).toBe(String(registered.userId));

    const disable = await api.patch(`/admin/app-users/${registered.userId}`, { status: 2 }, adminToken);
    expect(disable.status).toBe(200);
    expect(disable.body.data.status).toBe(2);
    const refused = await api.post('/auth/login', { phone, password: PASSWORD, identifier });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe(20004);
    const oldToken = await api.get('/me', login.body.data.token);
    expect(oldToken.status).toBe(401);
    expect(oldToken.body.code).toBe(20104);

    const removed = await api.delete(`/admin/app-users/${registered.userId}`, adminToken);
    expect(removed.status).toBe(200);
    const again = await api.post('/auth/register', { phone, password: PASSWORD, identifier: uniqueIdentifier() });
    expect(again.status).toBe(201);
    expect(again.body.data.userId).not.toBe(registered.userId);
  });

  it('answers 20001 for a registered phone and 20003 alike for a wrong password and an unknown phone', async () => {
    const { phone, identifier } = await registerUser(api);
    const dup = await api.post('/auth/register', { phone, password: PASSWORD, identifier: uniqueIdentifier() });
    expect([dup.status, dup.body.code]).toEqual([409, 20001]);
    const wrong = await api.post('/auth/login', { phone, password: 'not-the-password', identifier });
    const unknown = await api.post('/auth/login', { phone: uniquePhone(), password: PASSWORD, identifier });
    expect([wrong.status, wrong.body]).toEqual([401, { code: 20003, msg: 'phone or password incorrect' }]);
    expect([unknown.status, unknown.body]).toEqual([wrong.status, wrong.body]);
  });

  it('a placeholder cached for an unknown phone is cleared when the phone registers', async () => {
    const phone = uniquePhone();
    await api.post('/auth/login', { phone, password: PASSWORD, identifier: uniqueIdentifier() });
    expect(await world.redis.get(`cache:appUsers:phone:${phone}`)).toBe('*');
    const { userId } = await registerUser(api, phone);
    expect(await world.redis.get(`cache:appUsers:phone:${phone}`)).toBeNull();
    const login = await api.post('/auth/login', { phone, password: PASSWORD, identifier: uniqueIdentifier() });
    expect(login.body.data.userId).toBe(userId);
  });

  it('PATCH /me changes the nickname and the next GET /me shows it', async () => {
    const { token } = await registerUser(api);
    await api.get('/me', token);
    const patched = await api.patch('/me', { nickname: '小明' }, token);
    expect(patched.status).toBe(200);
    expect((await api.get('/me', token)).body.data.nickname).toBe('小明');
    const tooLong = await api.patch('/me', { nickname: 'x'.repeat(33) }, token);
    expect([tooLong.status, tooLong.body.code]).toEqual([400, 100002]);
    expect(tooLong.body.msg).toContain('nickname');
  });
});
