import { TestWorld } from '../support/test-app';

/** Every route of CONTRACT sections 3 and 6, plus the operations routes, as OpenAPI paths. */
const CONTRACT_ROUTES: Array<[string, string]> = [
  ['post', '/auth/device'],
  ['post', '/auth/register'],
  ['post', '/auth/login'],
  ['post', '/auth/logout'],
  ['get', '/me'],
  ['patch', '/me'],
  ['get', '/me/devices'],
  ['delete', '/me/devices/{identifier}'],
  ['post', '/me/devices/{identifier}/sign-out'],
  ['post', '/me/devices/sign-out-others'],
  ['put', '/me/password'],
  ['post', '/auth/password/code'],
  ['post', '/auth/password/reset'],
  ['post', '/me/email/code'],
  ['post', '/me/email/bind'],
  ['post', '/me/invite-code'],
  ['post', '/oa/auth/login'],
  ['post', '/oa/auth/logout'],
  ['get', '/admin/app-users'],
  ['get', '/admin/app-users/{id}'],
  ['patch', '/admin/app-users/{id}'],
  ['delete', '/admin/app-users/{id}'],
  ['get', '/admin/app-users/{id}/devices'],
  ['post', '/admin/app-users/{id}/devices/{identifier}/sign-out'],
  ['get', '/admin/oa-users'],
  ['post', '/admin/oa-users'],
  ['patch', '/admin/oa-users/{id}'],
  ['get', '/admin/cache/health'],
  ['get', '/admin/cache/keys'],
  ['delete', '/admin/cache'],
  ['delete', '/admin/cache/phone/{phone}'],
  ['delete', '/admin/cache/id/{id}'],
  ['get', '/admin/cache/audit'],
  ['get', '/admin/cache/phone/{phone}'],
  ['get', '/admin/cache/id/{id}'],
  ['get', '/health'],
  ['get', '/health/live'],
];

const WITH_BODY = new Set([
  'post /auth/device',
  'post /auth/register',
  'post /auth/login',
  'patch /me',
  'post /me/email/code',
  'post /me/email/bind',
  'post /me/invite-code',
  'put /me/password',
  'post /auth/password/code',
  'post /auth/password/reset',
  'post /oa/auth/login',
  'patch /admin/app-users/{id}',
  'post /admin/oa-users',
  'patch /admin/oa-users/{id}',
]);
/** Routes whose `data` is null: done is all they say. */
const ANSWERS_NULL = new Set([
  'post /auth/logout',
  'post /oa/auth/logout',
  'post /me/devices/{identifier}/sign-out',
  'post /auth/password/reset',
  'post /admin/app-users/{id}/devices/{identifier}/sign-out',
]);
const CLIENT_ROUTES = /^\/(me|auth\/logout)/;
const STAFF_ROUTES = /^\/(admin\/|oa\/auth\/logout)/;

type Schema = { $ref?: string; allOf?: Schema[]; properties?: Record<string, Schema>; items?: Schema; type?: string; required?: string[] };

describe('API documentation at /docs', () => {
  let world: TestWorld;
  let url: string;
  let doc: any;

  const resolve = (schema: Schema): Schema => (schema.$ref ? doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')] : schema);

  /** The `data` schema of a success envelope, with references followed. */
  const dataOf = (op: any): Schema => {
    const [status] = Object.keys(op.responses).filter((s) => /^2/.test(s));
    const envelope = op.responses[status].content['application/json'].schema as Schema;
    const parts = (envelope.allOf ?? []).map(resolve);
    expect(parts[0].properties).toEqual(expect.objectContaining({ code: expect.anything(), msg: expect.anything() }));
    return parts[1].properties!.data;
  };

  beforeAll(async () => {
    world = await TestWorld.create();
    ({ url } = await world.start());
    const res = await fetch(`${url}/docs-json`);
    expect(res.status).toBe(200);
    doc = await res.json();
  });
  afterAll(() => world.close());

  it('serves the Swagger UI at /docs without a token', async () => {
    const res = await fetch(`${url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(await res.text()).toMatch(/swagger/i);
  });

  it('describes the envelope, every business code of the code base, and the two bearer schemes', () => {
    const description: string = doc.info.description;
    expect(description).toContain('{"code": 200, "msg": "OK", "data": <payload>}');
    for (const code of [100002, 100003, 100004, 100005, 100006, 20001, 20003, 20004, 20009, 20101, 20102, 20103, 20104]) {
      expect(description).toMatch(new RegExp(`\\| ${code} \\| \\d{3} \\|`));
    }
    expect(description).toContain('无邀请码');
    expect(doc.components.securitySchemes).toEqual({
      client: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      staff: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });
    expect(doc.components.schemas.ErrorEnvelopeDto.properties).toEqual(expect.objectContaining({ code: expect.anything(), msg: expect.anything() }));
  });

  it.each(CONTRACT_ROUTES)('%s %s: documented with its request and its enveloped response', (method, path) => {
    const op = doc.paths[path]?.[method];
    expect(op).toBeDefined();
    const key = `${method} ${path}`;

    if (WITH_BODY.has(key)) {
      const body = resolve(op.requestBody.content['application/json'].schema);
      expect(Object.keys(body.properties ?? {}).length).toBeGreaterThan(0);
    }
    for (const name of path.match(/\{(\w+)\}/g) ?? []) {
      expect(op.parameters).toContainEqual(expect.objectContaining({ in: 'path', name: name.slice(1, -1) }));
    }

    const data = dataOf(op);
    const shape = data.type === 'array' ? resolve(data.items!) : resolve(data);
    if (!/^delete \/(me\/devices|admin\/app-users)/.test(key) && !ANSWERS_NULL.has(key)) {
      expect(Object.keys(shape.properties ?? {}).length).toBeGreaterThan(0);
    }

    const errors = Object.keys(op.responses).filter((s) => /^[45]/.test(s));
    const takesInput = WITH_BODY.has(key) || path.includes('{') || (op.parameters ?? []).length > 0;
    if (takesInput) expect(errors).toContain('400');
    for (const status of errors) expect(op.responses[status].content['application/json'].schema.$ref).toMatch(/ErrorEnvelopeDto$/);

    const schemes = (op.security ?? []).flatMap((s: Record<string, unknown>) => Object.keys(s));
    if (CLIENT_ROUTES.test(path)) expect(schemes).toEqual(['client']);
    else if (STAFF_ROUTES.test(path)) expect(schemes).toEqual(['staff']);
    else expect(schemes).toEqual([]);
    if (schemes.length > 0) expect(errors).toContain('401');
  });

  it('documents query parameters of the list and clear routes', () => {
    const names = (path: string, method: string) =>
      doc.paths[path][method].parameters
        .filter((p: any) => p.in === 'query')
        .map((p: any) => p.name)
        .sort();
    expect(names('/admin/app-users', 'get')).toEqual(['cursor', 'limit', 'phone']);
    expect(names('/admin/cache/keys', 'get')).toEqual(['count', 'cursor', 'scope']);
    expect(names('/admin/cache', 'delete')).toEqual(['scope']);
    expect(names('/admin/cache/audit', 'get')).toEqual(['repair', 'scope']);
  });

  it('documents the same fields a real answer has (GET /me)', async () => {
    const { api } = await world.start();
    const login = await api.post('/auth/device', { identifier: `docs-${Date.now()}` });
    const me = await api.get('/me', login.body.data.token);
    const documented = resolve(dataOf(doc.paths['/me'].get));
    expect(Object.keys(documented.properties!).sort()).toEqual(Object.keys(me.body.data).sort());
    const loginShape = resolve(dataOf(doc.paths['/auth/device'].post));
    expect(Object.keys(loginShape.properties!).sort()).toEqual(Object.keys(login.body.data).sort());
  });
});
