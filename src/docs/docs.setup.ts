import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { ErrorCode } from '../common/error-codes';
import { CLIENT_AUTH, STAFF_AUTH } from './api-envelope';

export const DOCS_PATH = 'docs';
export const DOCS_JSON_PATH = 'docs-json';

/** The business code table, generated from ErrorCode so the docs cannot drift from the code. */
export function errorCodeTable(): string {
  const rows = Object.entries(ErrorCode)
    .sort(([, a], [, b]) => a.code - b.code)
    .map(([name, spec]) => `| ${spec.code} | ${spec.status} | \`${name}\` | ${spec.msg} |`);
  return ['| code | HTTP | name | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

const DESCRIPTION = `
User, device and session service with a Redis cache that never contradicts MySQL.

**Envelope.** Every JSON answer is \`{"code": 200, "msg": "OK", "data": <payload>}\` on success and
\`{"code": <business code>, "msg": "<text>"}\` with a fitting HTTP status on failure (5xx answers also
carry a \`requestId\`, the \`x-request-id\` of the request, which is on every log line of it).
Unknown body fields are refused with 400 / 100002.

**Authentication.** Two bearer schemes: \`${CLIENT_AUTH}\` (tokens from \`/auth/*\`, for \`/auth/logout\` and \`/me*\`)
and \`${STAFF_AUTH}\` (tokens from \`/oa/auth/login\`, for \`/admin/*\`). A token of one kind never works on
the other's routes.

**Business codes.**

${errorCodeTable()}
`;

export function buildApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('hi-server')
    .setDescription(DESCRIPTION)
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'client token from POST /auth/device, /auth/register or /auth/login' }, CLIENT_AUTH)
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'staff token from POST /oa/auth/login' }, STAFF_AUTH)
    .build();
  return SwaggerModule.createDocument(app, config);
}

/** Swagger UI at /docs and the OpenAPI JSON at /docs-json; neither needs a token. */
export function setupApiDocs(app: INestApplication): void {
  SwaggerModule.setup(DOCS_PATH, app, () => buildApiDocument(app), {
    jsonDocumentUrl: DOCS_JSON_PATH,
    yamlDocumentUrl: 'docs-yaml',
    customSiteTitle: 'hi-server API',
  });
}
