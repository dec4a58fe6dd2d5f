import { PASSWORD } from '../support/builders';
import { registerUser, staffLogin } from '../support/flows';
import { Api } from '../support/http';
import { TestWorld } from '../support/test-app';

describe('GET /admin/cache/audit (issue 4): stale entries left by hand-written SQL', () => {
  let world: TestWorld;
  let api: Api;
  let admin: string;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ api } = await world.start());
    admin = await staffLogin(api, world.admin.phone, world.admin.password);
  });
  afterAll(() => world.close());

  it('reports each stale entry with its reason; repair=true deletes them and the service serves the database again', async () => {
    const user = await registerUser(api);
    const login = await api.post('/auth/login', { phone: user.phone, password: PASSWORD, identifier: user.identifier });
    const token = login.body.data.token;
    expect((await api.get('/me', token)).body.data.nickname).toBe('');
    await world.sql.query('UPDATE app_users SET nickname = ? WHERE id = ?', ['set-by-sql', user.userId]);
    expect((await api.get('/me', token)).body.data.nickname).toBe(''); // the stale copy, as CDC_MODE=off allows

    const report = await api.get('/admin/cache/audit?scope=appUsers', admin);
    expect(report.status).toBe(200);
    expect(report.body.data).toMatchObject({ scope: 'appUsers', repair: false, repaired: 0 });
    expect(report.body.data.stale).toEqual([{ key: `cache:appUsers:id:${user.userId}`, reason: 'row_differs', detail: 'differs in nickname' }]);
    expect(await world.redis.exists(`cache:appUsers:id:${user.userId}`)).toBe(1);

    const repaired = await api.get('/admin/cache/audit?scope=all&repair=true', admin);
    expect(repaired.body.data).toMatchObject({ scope: 'all', repair: true, repaired: 1 });
    expect((await api.get('/me', token)).body.data.nickname).toBe('set-by-sql');
    expect((await api.get('/admin/cache/audit', admin)).body.data.stale).toEqual([]);
  });
});
