import { INestApplication, RequestMethod, Type } from '@nestjs/common';
import { GUARDS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { MetadataScanner, ModulesContainer } from '@nestjs/core';
import { DECORATORS, getSchemaPath, OpenAPIObject, OperationObject, ParameterObject, ResponseObject } from '@nestjs/swagger';
import type { FastifyInstance } from 'fastify';
import { ErrorCode, ErrorSpec } from '../common/error-codes';
import { MAX_JSON_DEPTH } from '../common/json-body';
import { StaffAuthGuard, StaffRoles } from '../oa-user/staff-auth.guard';
import { AppAuthGuard } from '../session/app-auth.guard';
import { AuthRateLimitGuard } from '../session/auth-rate-limit.guard';
import { REVOKED_ERROR } from '../session/kick-reason';
import { CLIENT_AUTH, declaredErrors, ErrorEnvelopeDto, isWithoutStores, STAFF_AUTH } from '../docs/api-envelope';

/** What a route is, as far as its answers go: read from the controllers' metadata, never restated. */
export interface RouteFacts {
  /** OpenAPI's lower-case method and path: `delete`, `/me/devices/{identifier}`. */
  method: string;
  path: string;
  controller: Type;
  handler: (...args: never[]) => unknown;
  /** Left out of the document on purpose (`@ApiExcludeController`, `@ApiExcludeEndpoint`). */
  excluded: boolean;
}

/** One answer a route can give: an HTTP status with a business code, and when, if the code alone does not say. */
interface Answer {
  status: number;
  spec: ErrorSpec;
  when?: string;
}

/** The limits Fastify enforces before any route runs, as the application configured them. */
export interface HttpLimits {
  bodyBytes: number;
  paramLength: number;
}

const STAFF_ROLES = StaffRoles().KEY;

export function httpLimitsOf(app: INestApplication): HttpLimits {
  const config = (app.getHttpAdapter().getInstance() as FastifyInstance).initialConfig;
  return { bodyBytes: config.bodyLimit ?? 1024 * 1024, paramLength: config.routerOptions?.maxParamLength ?? config.maxParamLength ?? 100 };
}

/** Every route of every controller of the application, in the order Nest registers them. */
export function routesOf(app: INestApplication): RouteFacts[] {
  const scanner = new MetadataScanner();
  const controllers = new Set<Type>();
  for (const module of app.get(ModulesContainer, { strict: false }).values()) {
    for (const wrapper of module.controllers.values()) controllers.add(wrapper.metatype as Type);
  }
  return [...controllers].flatMap((controller) => {
    const prototype = controller.prototype as Record<string, RouteFacts['handler']>;
    const excludedController = (Reflect.getMetadata(DECORATORS.API_EXCLUDE_CONTROLLER, controller) as boolean[] | undefined)?.[0] === true;
    return scanner.getAllMethodNames(prototype).flatMap((name) => {
      const handler = prototype[name];
      const methodPath = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
      if (methodPath === undefined) return [];
      const segments = [Reflect.getMetadata(PATH_METADATA, controller) as string, methodPath].map((p) => p.replace(/^\/+|\/+$/g, '')).filter(Boolean);
      return [
        {
          method: RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod].toLowerCase(),
          path: `/${segments.join('/')}`.replace(/:(\w+)/g, '{$1}'),
          controller,
          handler,
          excluded:
            excludedController || (Reflect.getMetadata(DECORATORS.API_EXCLUDE_ENDPOINT, handler) as { disable?: boolean } | undefined)?.disable === true,
        },
      ];
    });
  });
}

/**
 * Writes into the document every error answer of every route, each HTTP status with the business
 * codes it can carry: what the route declares (`@ApiErrors`, for what its services throw) and
 * what follows from its facts, declared once here: a body, parameters, its guards, MySQL and
 * Redis. Throws when the document and the routes disagree (a route missing, a guard without its
 * security scheme, an operationId used twice): the docs test then fails.
 */
export function documentAnswers(document: OpenAPIObject, routes: RouteFacts[], limits: HttpLimits): void {
  const seen = new Set<OperationObject>();
  const operationIds = new Map<string, string>();
  for (const route of routes) {
    const operation = document.paths[route.path]?.[route.method as 'get'] as OperationObject | undefined;
    const name = `${route.method.toUpperCase()} ${route.path}`;
    if (!operation) {
      if (route.excluded) continue;
      throw new Error(`${name} is a route but not in the OpenAPI document`);
    }
    seen.add(operation);
    const id = operation.operationId ?? '';
    if (operationIds.has(id)) throw new Error(`operationId ${id} names both ${operationIds.get(id)} and ${name}`);
    operationIds.set(id, name);
    checkSecurity(name, operation, route);
    operation.responses = withErrors(operation.responses as Record<string, ResponseObject>, answersOf(route, operation, limits));
  }
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!seen.has(operation as OperationObject)) throw new Error(`${method.toUpperCase()} ${path} is documented but is no route`);
    }
  }
}

function guardsOf(route: RouteFacts): unknown[] {
  return [route.controller, route.handler].flatMap((target) => (Reflect.getMetadata(GUARDS_METADATA, target) as unknown[] | undefined) ?? []);
}

function guardedBy(guards: unknown[], guard: Type): boolean {
  return guards.some((g) => g === guard || (typeof g === 'function' && g.prototype instanceof guard) || g instanceof guard);
}

/** `@ApiClientAuth()` / `@ApiStaffAuth()` must say what the guard does. */
function checkSecurity(name: string, operation: OperationObject, route: RouteFacts): void {
  const guards = guardsOf(route);
  const expected = guardedBy(guards, AppAuthGuard) ? [CLIENT_AUTH] : guardedBy(guards, StaffAuthGuard) ? [STAFF_AUTH] : [];
  const documented = (operation.security ?? []).flatMap((requirement) => Object.keys(requirement));
  if (documented.join() !== expected.join()) {
    throw new Error(`${name} is guarded for [${expected.join()}] but documented with security [${documented.join()}]`);
  }
}

function answersOf(route: RouteFacts, operation: OperationObject, limits: HttpLimits): Answer[] {
  const answers: Answer[] = [...declaredErrors(route.handler), ...declaredErrors(route.controller)].map((spec) => ({ status: spec.status, spec }));
  const add = (status: number, spec: ErrorSpec, when?: string) => answers.push({ status, spec, when });
  const parameters = (operation.parameters ?? []) as ParameterObject[];

  if (operation.requestBody || parameters.length > 0) add(400, ErrorCode.INVALID_PARAM, 'a parameter or body field is invalid (the message names it)');
  if (parameters.some((p) => p.in === 'path')) {
    add(400, ErrorCode.INVALID_PARAM, 'the URL is not validly percent-encoded');
    add(414, ErrorCode.INVALID_PARAM, `a path parameter is longer than ${limits.paramLength} characters`);
  }
  // Fastify reads a body sent with any method but GET and HEAD, whether the route wants one or not.
  if (route.method !== 'get' && route.method !== 'head') {
    add(400, ErrorCode.INVALID_PARAM, `the body is not well-formed JSON, is empty, or nests deeper than ${MAX_JSON_DEPTH} levels`);
    add(413, ErrorCode.INVALID_PARAM, `the body is larger than ${limits.bodyBytes / 1024} KiB`);
    add(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE);
  }

  const guards = guardsOf(route);
  if (guardedBy(guards, AppAuthGuard)) {
    add(401, ErrorCode.UNAUTHORIZED, 'no token, an unknown one, or one logged out or lapsed');
    for (const spec of new Set(Object.values(REVOKED_ERROR))) if (spec !== ErrorCode.UNAUTHORIZED) add(401, spec);
  }
  if (guardedBy(guards, StaffAuthGuard)) {
    add(401, ErrorCode.UNAUTHORIZED, 'no staff token, an unknown or ended one, or the staff user is disabled');
    const roles = (Reflect.getMetadata(STAFF_ROLES, route.handler) ?? Reflect.getMetadata(STAFF_ROLES, route.controller)) as string[] | undefined;
    if (roles) add(403, ErrorCode.FORBIDDEN, `the staff user's role is not ${roles.join(' or ')}`);
  }
  if (guardedBy(guards, AuthRateLimitGuard))
    add(429, ErrorCode.TOO_MANY_REQUESTS, 'see the limits in the description; the `Retry-After` header says when to retry');

  if (!isWithoutStores(route.handler) && !isWithoutStores(route.controller)) {
    add(503, ErrorCode.UNAVAILABLE, 'Redis does not answer (a write that answers this is saved; the cache catches up)');
    add(500, ErrorCode.DB_FAILED);
  }
  add(500, ErrorCode.INTERNAL, 'anything unexpected; the answer carries a `requestId` to quote');
  return answers;
}

/** The operation's success answers, then one error answer per status, in status order. */
function withErrors(responses: Record<string, ResponseObject>, answers: Answer[]): Record<string, ResponseObject> {
  const byStatus = new Map<number, Map<number, { spec: ErrorSpec; when: string[] }>>();
  for (const { status, spec, when } of answers) {
    const codes = byStatus.get(status) ?? new Map<number, { spec: ErrorSpec; when: string[] }>();
    byStatus.set(status, codes);
    const entry = codes.get(spec.code) ?? { spec, when: [] };
    codes.set(spec.code, entry);
    if (when && !entry.when.includes(when)) entry.when.push(when);
  }
  const result: Record<string, ResponseObject> = {};
  for (const [status, response] of Object.entries(responses)) if (!byStatus.has(Number(status))) result[status] = response;
  for (const status of [...byStatus.keys()].sort((a, b) => a - b)) {
    const codes = [...byStatus.get(status)!.values()];
    const given = responses[String(status)]?.description;
    result[String(status)] = {
      description: [
        ...(given ? [given] : []),
        ...codes.map(({ spec, when }) => `- \`${spec.code}\` ${spec.msg}${when.length > 0 ? `: ${when.join('; ')}` : ''}`),
      ].join('\n'),
      ...(status === 429 && { headers: { 'Retry-After': { description: 'seconds to wait before trying again', schema: { type: 'integer' } } } }),
      content: {
        'application/json': {
          schema: {
            allOf: [
              { $ref: getSchemaPath(ErrorEnvelopeDto) },
              { type: 'object', properties: { code: { type: 'integer', enum: codes.map(({ spec }) => spec.code) } } },
            ],
          },
          examples: Object.fromEntries(
            codes.map(({ spec }) => [String(spec.code), { summary: `${spec.code} ${spec.msg}`, value: { code: spec.code, msg: spec.msg } }]),
          ),
        },
      },
    };
  }
  return result;
}
