import { applyDecorators, Type } from '@nestjs/common';
import { ApiBearerAuth, ApiExtraModels, ApiProperty, ApiPropertyOptional, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ErrorCode, ErrorSpec } from '../common/error-codes';

/** Names of the two security schemes: a client token never works on staff routes, nor the reverse. */
export const CLIENT_AUTH = 'client';
export const STAFF_AUTH = 'staff';

export class EnvelopeDto {
  @ApiProperty({ example: 200, description: '200 on success' }) code: number;
  @ApiProperty({ example: 'OK' }) msg: string;
}

export class ErrorEnvelopeDto {
  @ApiProperty({ example: ErrorCode.INVALID_PARAM.code, description: 'business code (see the table in the description)' }) code: number;
  @ApiProperty({ example: 'phone must be 5-20 characters: digits, optionally after a +' }) msg: string;
  @ApiPropertyOptional({ description: 'details for some errors (e.g. which dependency is down)' }) data?: object;
  @ApiPropertyOptional({ description: 'present on 5xx answers: quote it when reporting a problem, it is on every log line of the request' })
  requestId?: string;
}

/** `{code: 200, msg: 'OK', data: <model>}`; `null` model means `data: null`. */
export function ApiEnvelope(model: Type<unknown> | null, options: { status?: number; isArray?: boolean; description?: string } = {}) {
  const item = model ? { $ref: getSchemaPath(model) } : undefined;
  const data = !item ? { type: 'object', nullable: true, example: null } : options.isArray ? { type: 'array', items: item } : item;
  return applyDecorators(
    ApiExtraModels(EnvelopeDto, ...(model ? [model] : [])),
    ApiResponse({
      status: options.status ?? 200,
      description: options.description ?? 'success',
      schema: { allOf: [{ $ref: getSchemaPath(EnvelopeDto) }, { type: 'object', required: ['data'], properties: { data } }] },
    }),
  );
}

const DECLARED_ERRORS = Symbol('hi:docs:errors');
const WITHOUT_STORES = Symbol('hi:docs:without-stores');

type Target = object | ((...args: never[]) => unknown);

/**
 * The business codes a route (on a method) or every route of a controller (on the class) answers
 * besides the ones its facts imply: guards, parameters, a body, MySQL and Redis (api-answers.ts
 * adds those). Each code is documented under its own HTTP status.
 */
export function ApiErrors(...specs: ErrorSpec[]): ClassDecorator & MethodDecorator {
  return (target: Target, _key?: string | symbol, descriptor?: PropertyDescriptor): void => {
    const on = (descriptor?.value ?? target) as Target;
    Reflect.defineMetadata(DECLARED_ERRORS, [...declaredErrors(on), ...specs], on);
  };
}

export function declaredErrors(target: Target): ErrorSpec[] {
  return (Reflect.getMetadata(DECLARED_ERRORS, target) as ErrorSpec[] | undefined) ?? [];
}

/** A route that touches neither MySQL nor Redis: no 503 / 100007 and no 500 / 100005 to document. */
export function ApiWithoutStores(): ClassDecorator & MethodDecorator {
  return (target: Target, _key?: string | symbol, descriptor?: PropertyDescriptor): void => {
    Reflect.defineMetadata(WITHOUT_STORES, true, (descriptor?.value ?? target) as Target);
  };
}

export function isWithoutStores(target: Target): boolean {
  return Reflect.getMetadata(WITHOUT_STORES, target) === true;
}

/**
 * A client route: `Authorization: Bearer <token from /auth/*>`. Its 401 answers (100003 and every
 * revoked-session code) follow from its AppAuthGuard (api-answers.ts), which must be there too.
 */
export const ApiClientAuth = () => ApiBearerAuth(CLIENT_AUTH);

/**
 * A staff route: `Authorization: Bearer <token from /oa/auth/login>`. Its 401, and its 403 when
 * `@StaffRoles` restricts it, follow from its StaffAuthGuard (api-answers.ts), which must be there too.
 */
export const ApiStaffAuth = () => ApiBearerAuth(STAFF_AUTH);
