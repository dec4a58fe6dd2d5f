import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ErrorCode } from '../../src/common/error-codes';
import { KickReason, REVOKED_ERROR } from '../../src/session/kick-reason';
import { OBSERVED_CODES_ENV, ObservedAnswer, reviewObservedAnswers, undocumentedAnswers } from '../support/observed-answers';
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
const STAFF_ROUTES = /^\/(admin\/|oa\/auth\/logout|oa\/me)/;
/** Routes under the one shared request budget per client address (AUTH_RATE_LIMIT_PER_MINUTE). */
const RATE_LIMITED = /^\/(auth|oa\/auth)\/|^\/me\/(email|password)/;
/** The only routes that touch neither MySQL nor Redis. */
const WITHOUT_STORES = new Set(['get /health/live', 'get /metrics']);
/** Every code a client token can answer on a route of the client scheme. */
const CLIENT_401 = [...new Set(Object.values(REVOKED_ERROR).map((spec) => spec.code))];

type Schema = {
  $ref?: string;
  allOf?: Schema[];
  properties?: Record<string, Schema>;
  items?: Schema;
  type?: string;
  required?: string[];
  enum?: unknown[];
};

describe('API documentation at /docs', () => {
  let world: TestWorld;
  let url: string;
  let doc: any;

  const resolve = (schema: Schema): Schema => (schema.$ref ? doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')] : schema);

  /** Every operation of the document, as `[method, path, operation]`. */
  const operations = (): Array<[string, string, any]> =>
    Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item as Record<string, unknown>).map(([method, op]) => [method, path, op] as [string, string, any]),
    );

  /** The business codes an error answer names: the `code` enum of its envelope. */
  const codesOf = (response: any): number[] => {
    if (!response) return [];
    const parts = (response.content['application/json'].schema.allOf ?? []) as Schema[];
    return parts.flatMap((part) => (resolve(part).properties?.code?.enum ?? []) as number[]);
  };
  const answers = (method: string, path: string, status: number): number[] => codesOf(doc.paths[path][method].responses[String(status)]);

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
    expect(description).toMatch(/opaque/);
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
    for (const status of errors) expect(op.responses[status].content['application/json'].schema.allOf[0].$ref).toMatch(/ErrorEnvelopeDto$/);

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
    expect(names('/admin/cache/audit', 'get')).toEqual(['limit', 'repair', 'scope']);
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

  it('describes both bearer schemes as opaque tokens, never as JWT, naming where each comes from', () => {
    const { client, staff } = doc.components.securitySchemes;
    for (const scheme of [client, staff]) {
      expect(scheme.bearerFormat ?? '').not.toMatch(/jwt/i);
      expect(scheme.description).toMatch(/opaque/i);
    }
    expect(client.description).toContain('/auth/device');
    expect(staff.description).toContain('/oa/auth/login');
  });

  it('gives every operation a readable operationId, unique across the document', () => {
    const ids = operations().map(([, , op]) => op.operationId as string);
    for (const id of ids) expect(id).toMatch(/^[a-z][a-zA-Z]+$/);
    expect(ids.filter((id) => /Controller/.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc.paths['/auth/device'].post.operationId).toBe('authDevice');
    expect(doc.paths['/me'].get.operationId).toBe('getMe');
  });

  it('describes every tag, in reading order: client auth first, the admin tags last', () => {
    const declared = (doc.tags as Array<{ name: string; description?: string }>).map((tag) => tag.name);
    const used = new Set(operations().flatMap(([, , op]) => op.tags as string[]));
    expect(new Set(declared)).toEqual(used);
    for (const tag of doc.tags) expect(tag.description?.length).toBeGreaterThan(30);
    expect(declared[0]).toBe('client auth');
    const adminOnly = (tag: string) => operations().every(([, path, op]) => !op.tags.includes(tag) || path.startsWith('/admin/'));
    const firstAdmin = declared.findIndex(adminOnly);
    expect(firstAdmin).toBeGreaterThan(0);
    expect(declared.slice(firstAdmin).every(adminOnly)).toBe(true);
  });

  it('documents the Socket.IO interface: namespace, handshake token, events, and every kick reason with its code', () => {
    const description: string = doc.info.description;
    expect(description).toContain('## Devices over Socket.IO');
    expect(description).toContain('`/devices`');
    expect(description).toContain('auth: { token }');
    for (const event of ['kicked', 'error', 'connect_error']) expect(description).toContain(`\`${event}\``);
    expect(description).toMatch(/`too many connections` \| `100006`/);
    const reasons = Object.keys(REVOKED_ERROR) as KickReason[];
    expect(reasons).toHaveLength(10);
    for (const reason of reasons) {
      const { status, code } = REVOKED_ERROR[reason];
      expect(description).toMatch(new RegExp(`\\| \`${reason}\` \\| [^|\\n]+ \\| ${status} / \`${code}\` \\|`));
    }
  });

  it('shows every error answer as the envelope with its codes, each described and with an example', () => {
    for (const [method, path, op] of operations()) {
      for (const [status, response] of Object.entries(op.responses as Record<string, any>).filter(([s]) => /^[45]/.test(s))) {
        const codes = codesOf(response);
        expect({ route: `${method} ${path} ${status}`, codes: codes.length > 0 }).toEqual({ route: `${method} ${path} ${status}`, codes: true });
        expect(Object.keys(response.content['application/json'].examples).map(Number).sort()).toEqual([...codes].sort());
        for (const code of codes) expect(response.description).toContain(`\`${code}\``);
      }
    }
  });

  it('lists on every route the answers its facts imply: body, parameters, token, rate limit, MySQL and Redis', () => {
    for (const [method, path, op] of operations()) {
      const has = (status: number, codes: number[]) =>
        expect({ route: `${method} ${path} ${status}`, codes: answers(method, path, status) }).toEqual({
          route: `${method} ${path} ${status}`,
          codes: expect.arrayContaining(codes),
        });
      if (method !== 'get') {
        has(400, [ErrorCode.INVALID_PARAM.code]);
        has(413, [ErrorCode.INVALID_PARAM.code]);
        has(415, [ErrorCode.UNSUPPORTED_MEDIA_TYPE.code]);
      }
      if (path.includes('{')) has(414, [ErrorCode.INVALID_PARAM.code]);
      const schemes = (op.security ?? []).flatMap((s: Record<string, unknown>) => Object.keys(s));
      if (schemes.includes('client')) has(401, CLIENT_401);
      if (schemes.includes('staff')) has(401, [ErrorCode.UNAUTHORIZED.code]);
      if (RATE_LIMITED.test(path)) {
        has(429, [ErrorCode.TOO_MANY_REQUESTS.code]);
        expect(op.responses['429'].headers['Retry-After']).toBeDefined();
      }
      has(500, [ErrorCode.INTERNAL.code]);
      if (WITHOUT_STORES.has(`${method} ${path}`)) {
        expect(op.responses['503']).toBeUndefined();
      } else {
        has(503, [ErrorCode.UNAVAILABLE.code]);
        has(500, [ErrorCode.DB_FAILED.code]);
      }
    }
    expect(doc.paths['/me'].get.responses['400']).toBeUndefined();
    // 403 goes with a role: any staff role may read app users, only admins change them.
    expect(doc.paths['/admin/app-users'].get.responses['403']).toBeUndefined();
    expect(answers('patch', '/admin/app-users/{id}', 403)).toEqual([ErrorCode.FORBIDDEN.code]);
  });

  it('lists the codes each route throws for its own reasons', () => {
    expect(answers('post', '/auth/device', 401)).toEqual(expect.arrayContaining([20013, 20101, 20102, 20103]));
    expect(answers('post', '/auth/device', 403)).toEqual(expect.arrayContaining([20004, 20014]));
    expect(answers('post', '/auth/login', 401)).toEqual(expect.arrayContaining([20003, 20013]));
    expect(answers('post', '/auth/register', 409)).toEqual([20001]);
    expect(answers('post', '/me/email/bind', 403)).toEqual(expect.arrayContaining([20004, 20014]));
    expect(answers('post', '/me/email/bind', 400)).toEqual(expect.arrayContaining([100002, 20007]));
    expect(answers('post', '/me/invite-code', 400)).toEqual(expect.arrayContaining([20009, 20010]));
    expect(answers('post', '/me/invite-code', 409)).toEqual([20011]);
    expect(answers('put', '/me/password', 403)).toEqual([20015]);
    expect(answers('delete', '/me/devices/{identifier}', 404)).toEqual([20006]);
    expect(answers('post', '/oa/auth/login', 401)).toEqual(expect.arrayContaining([20003]));
  });

  describe('the check that every answer the e2e tests observe is documented', () => {
    const answer = (method: string, route: string | null, status: number, code: number | null): ObservedAnswer => ({ method, route, status, code });
    const served = () => ({ document: doc, undocumented: ['get /admin-ui/{file}'], docsPath: '/docs' });

    it('names each answer the document does not list, and passes the ones it lists', () => {
      expect(
        undocumentedAnswers(served(), [
          answer('POST', '/auth/device', 403, 20004),
          answer('POST', '/auth/device', 200, null),
          answer('HEAD', '/me', 401, 20101),
          answer('DELETE', '/me/devices/:identifier', 414, 100002),
          answer('GET', '/admin-ui/:file', 404, 100008),
          answer('GET', '/docs-json', 200, null),
        ]),
      ).toEqual([]);
      expect(
        undocumentedAnswers(served(), [
          answer('POST', '/auth/device', 403, 20015),
          answer('POST', '/auth/device', 400, null),
          answer('POST', '/auth/device', 201, null),
          answer('GET', '/me', 418, 100002),
          answer('GET', '/nowhere', 200, null),
        ]),
      ).toEqual([
        'GET /me: HTTP 418 / 100002 is not documented',
        'GET /nowhere: the route is not in the document (it answered 200)',
        expect.stringMatching(/^POST \/auth\/device: 400 is not documented \(HTTP 400 lists 100002/),
        expect.stringMatching(/^POST \/auth\/device: 403 \/ 20015 is not documented \(HTTP 403 lists 20004, 20014/),
        'POST /auth/device: HTTP 201 is not documented',
      ]);
    });

    it('never passes on nothing: no world reported, or answers none of which names its route, is a failure', () => {
      const dir = mkdtempSync(join(tmpdir(), 'hi-observed-test-'));
      const write = (file: string, ...lines: ObservedAnswer[]) => writeFileSync(join(dir, file), lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
      try {
        expect(reviewObservedAnswers(dir).problems).toEqual([expect.stringMatching(/did not reach the test processes/)]);
        writeFileSync(join(dir, 'world-1'), '');
        writeFileSync(join(dir, 'document-1.json'), JSON.stringify(served()));
        // An app that answered nothing (started for its migrations only) leaves nothing to check.
        expect(reviewObservedAnswers(dir)).toEqual({ problems: [], summary: expect.stringContaining('nothing to check') });
        write('answers-1.jsonl', answer('GET', null, 404, 100008), answer('POST', null, 400, 100002));
        expect(reviewObservedAnswers(dir).problems).toEqual([expect.stringMatching(/none names its route/)]);
        write('answers-1.jsonl', answer('GET', '/me', 404, 20005), answer('GET', null, 404, 100008));
        expect(reviewObservedAnswers(dir)).toEqual({ problems: [], summary: expect.stringContaining('2 distinct answers of 1 routes') });
        write('answers-2.jsonl', answer('GET', '/me', 404, 20006));
        expect(reviewObservedAnswers(dir).problems).toEqual([expect.stringMatching(/^GET \/me: 404 \/ 20006 is not documented/)]);
        writeFileSync(join(dir, 'document-2.json'), JSON.stringify({ ...served(), error: 'operationId x names both' }));
        expect(reviewObservedAnswers(dir).problems).toEqual(['the OpenAPI document could not be built: operationId x names both']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("records this process's answers for the check at the end of the run", async () => {
      const dir = process.env[OBSERVED_CODES_ENV];
      expect(dir).toBeDefined();
      const { api } = await world.start();
      expect((await api.get('/me', 'not-a-token-of-anyone')).status).toBe(401);
      const mine = readdirSync(dir!).filter((file) => file === `answers-${process.pid}.jsonl`);
      expect(mine).toHaveLength(1);
      const recorded = readFileSync(join(dir!, mine[0]), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line));
      expect(recorded).toContainEqual(answer('GET', '/me', 401, ErrorCode.UNAUTHORIZED.code));
    });
  });
});
