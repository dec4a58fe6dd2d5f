import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { ErrorCode } from '../common/error-codes';
import { MAX_JSON_DEPTH } from '../common/json-body';
import { documentAnswers, HttpLimits, httpLimitsOf, routesOf } from './api-answers';
import { CLIENT_AUTH, EnvelopeDto, ErrorEnvelopeDto, STAFF_AUTH } from '../docs/api-envelope';
import { socketDocs } from './socket-docs';

export const DOCS_PATH = 'docs';
export const DOCS_JSON_PATH = 'docs-json';

/** The tags in reading order: a client's way in first, the back office last. */
export const TAGS: Array<[name: string, description: string]> = [
  [
    'client auth',
    "Client apps sign in: as a device, by registering a phone, or with phone and password; and out. Each login answers a token for the `client` scheme and the device's new `deviceSecret`. A forgotten password is reset by email here too.",
  ],
  [
    'me',
    "The signed-in client's own account: profile, devices and their sessions, password, email binding (which may move the devices to another account) and invite code. Needs a `client` token.",
  ],
  ['staff auth', 'Back-office staff sign in and out. The token is for the `staff` scheme: it works on `/admin/*` only, and a client token never works there.'],
  ['operations', 'Readiness, liveness and Prometheus metrics, without a token: expose them to your probes and scraper, not to the internet.'],
  [
    'admin: app users',
    "Client accounts for staff: list and look up, see their devices' sessions, disable for good or until a time, delete, sign a device out. Every role may read; changes are for admins (each route's 403 says).",
  ],
  ['admin: staff', 'Staff users (role `admin` or `operator`), for admins.'],
  [
    'cache administration',
    'The Redis cache for staff, the verbs of the old `clear_user_cache.sh` over HTTP (`npm run cache` is the command line): health, keys, lookups, audits, clears. A clear deletes `cache:*` keys only, never a session. Which role may call a route, its 403 says.',
  ],
];

/** The business code table, generated from ErrorCode so the docs cannot drift from the code. */
export function errorCodeTable(): string {
  const rows = Object.entries(ErrorCode)
    .sort(([, a], [, b]) => a.code - b.code)
    .map(([name, spec]) => `| ${spec.code} | ${spec.status} | \`${name}\` | ${spec.msg} |`);
  return ['| code | HTTP | name | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

const description = (limits: HttpLimits) => `
User, device and session service with a Redis cache that never contradicts MySQL.

**Envelope.** Every JSON answer is \`{"code": 200, "msg": "OK", "data": <payload>}\` on success and
\`{"code": <business code>, "msg": "<text>"}\` with a fitting HTTP status on failure (5xx answers also
carry a \`requestId\`, the \`x-request-id\` of the request, which is on every log line of it).
Each route lists every error answer it can give, by HTTP status, with the business codes that status carries.

**Authentication.** \`Authorization: Bearer <token>\`. Tokens are opaque random strings (256 bits, base64url),
not JWTs: there is nothing in them to decode, and the server keeps only their SHA-256. Two schemes:
\`${CLIENT_AUTH}\` (tokens from \`/auth/*\`, for \`/auth/logout\` and \`/me*\`) and \`${STAFF_AUTH}\` (tokens from
\`/oa/auth/login\`, for \`/oa/auth/logout\` and \`/admin/*\`). A token of one kind never works on the other's routes.

**Bodies** are \`application/json\` only (else 415 / 100009), at most ${limits.bodyBytes / 1024} KiB (else 413 / 100002), nested at most
${MAX_JSON_DEPTH} levels deep; unknown fields are refused with 400 / 100002 naming them.

**Limits.** Requests to \`/auth/*\`, \`/oa/auth/*\`, \`/me/email/*\` and \`/me/password\` share one budget per client
address (\`AUTH_RATE_LIMIT_PER_MINUTE\`); failed logins, email codes and email bind attempts have limits of their own.
Over a limit: 429 / 100006 with a \`Retry-After\` header (seconds).

**The HTTP layer** answers by itself, on any URL and before any route runs: 404 / 100008 (no such route),
431 / 100002 (headers too large), 408 / 100002 (the request took too long to arrive), 400 / 100002 (a malformed request).

**Business codes.**

${errorCodeTable()}
${socketDocs()}`;

/** `AuthController.device` -> `authDevice`: for routes that do not name their operation themselves. */
const operationIdOf = (controllerKey: string, methodKey: string) =>
  `${controllerKey.replace(/Controller$/, '').replace(/^./, (c) => c.toLowerCase())}${methodKey.replace(/^./, (c) => c.toUpperCase())}`;

export function buildApiDocument(app: INestApplication): OpenAPIObject {
  const limits = httpLimitsOf(app);
  const builder = new DocumentBuilder()
    .setTitle('hi-server')
    .setDescription(description(limits))
    .setVersion('0.1.0')
    .addSecurity(CLIENT_AUTH, {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'opaque',
      description:
        'An opaque client token (not a JWT) answered by `POST /auth/device`, `/auth/register`, `/auth/login`, or by an email binding that moved the device (`POST /me/email/bind`). For `/auth/logout` and `/me*`, and for the Socket.IO handshake.',
    })
    .addSecurity(STAFF_AUTH, {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'opaque',
      description: 'An opaque staff token (not a JWT) answered by `POST /oa/auth/login`. For `/oa/auth/logout` and `/admin/*`.',
    });
  for (const [name, description] of TAGS) builder.addTag(name, description);
  const document = SwaggerModule.createDocument(app, builder.build(), {
    operationIdFactory: operationIdOf,
    extraModels: [EnvelopeDto, ErrorEnvelopeDto],
  });
  documentAnswers(document, routesOf(app), limits);
  return document;
}

/** Swagger UI at /docs and the OpenAPI JSON at /docs-json; neither needs a token. */
export function setupApiDocs(app: INestApplication): void {
  SwaggerModule.setup(DOCS_PATH, app, () => buildApiDocument(app), {
    jsonDocumentUrl: DOCS_JSON_PATH,
    yamlDocumentUrl: 'docs-yaml',
    customSiteTitle: 'hi-server API',
  });
}
