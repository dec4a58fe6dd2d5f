import { uniquePhone } from '../support/builders';
import { PASSWORD, staffLogin } from '../support/flows';
import { Api } from '../support/http';
import { TestWorld } from '../support/test-app';

/** PATCH /admin/oa-users/:id changes the row as MySQL has it, locked, never a cached copy of it. */
describe('staff edits read the row under a lock', () => {
  let world: TestWorld;
  let api: Api;
  let adminToken: string;

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ api } = await world.start());
    adminToken = await staffLogin(api, world.admin.phone, world.admin.password);
  });
  afterAll(() => world.close());

  const createOperator = async (phone = uniquePhone()) => {
    const res = await api.post('/admin/oa-users', { phone, password: PASSWORD, name: 'op', role: 'operator' }, adminToken);
    expect(res.status).toBe(201);
    return { id: res.body.data.id as number, phone };
  };
  const statusOf = async (id: number) => {
    const [rows] = await world.sql.query('SELECT status, name FROM oa_users WHERE id = ?', [id]);
    return (rows as Array<{ status: number; name: string }>)[0];
  };

  it('a status set to 2 by hand SQL is not undone by a later rename, even with the old row cached', async () => {
    const { id, phone } = await createOperator();
    await staffLogin(api, phone, PASSWORD); // the login reads, and caches, the active row
    expect(await world.redis.get(`cache:oaUsers:id:${id}`)).toEqual(expect.stringContaining('"status":1'));

    await world.sql.query('UPDATE oa_users SET status = 2 WHERE id = ?', [id]);
    expect(await world.redis.get(`cache:oaUsers:id:${id}`)).toEqual(expect.stringContaining('"status":1')); // still stale: no CDC here

    const res = await api.patch(`/admin/oa-users/${id}`, { name: 'renamed' }, adminToken);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ id, name: 'renamed', status: 2 });
    expect(await statusOf(id)).toEqual({ status: 2, name: 'renamed' });
    // The save invalidated the stale row: the disabled status now holds for logins too.
    expect((await api.post('/oa/auth/login', { phone, password: PASSWORD })).body.code).toBe(20004);
  });

  it('concurrent edits of different fields both stick', async () => {
    const { id } = await createOperator();
    const results = await Promise.all([
      api.patch(`/admin/oa-users/${id}`, { name: 'both' }, adminToken),
      api.patch(`/admin/oa-users/${id}`, { role: 'admin' }, adminToken),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    const [rows] = await world.sql.query('SELECT name, role FROM oa_users WHERE id = ?', [id]);
    expect((rows as unknown[])[0]).toEqual({ name: 'both', role: 'admin' });
  });

  it('a phone taken by another staff user answers 20001, also when two edits race for it (never a 500)', async () => {
    const taken = await createOperator();
    const other = await createOperator();
    const res = await api.patch(`/admin/oa-users/${other.id}`, { phone: taken.phone }, adminToken);
    expect([res.status, res.body.code]).toEqual([409, 20001]);

    for (let round = 0; round < 5; round += 1) {
      const a = await createOperator();
      const b = await createOperator();
      const phone = uniquePhone();
      const results = await Promise.all([a, b].map((u) => api.patch(`/admin/oa-users/${u.id}`, { phone }, adminToken)));
      expect(results.map((r) => r.body.code).sort()).toEqual([200, 20001]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    }
  });

  it('an unknown id answers 20012', async () => {
    const res = await api.patch('/admin/oa-users/999999', { name: 'x' }, adminToken);
    expect([res.status, res.body.code]).toEqual([404, 20012]);
  });
});
