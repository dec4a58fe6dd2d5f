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
  @ApiProperty({ example: 'phone must be 5-20 digits, optionally after a +' }) msg: string;
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

/** One documented response per HTTP status, naming the business codes a client may see with it. */
export function ApiErrors(...specs: ErrorSpec[]) {
  const byStatus = new Map<number, ErrorSpec[]>();
  for (const spec of [ErrorCode.INVALID_PARAM, ...specs]) byStatus.set(spec.status, [...(byStatus.get(spec.status) ?? []), spec]);
  return applyDecorators(
    ApiExtraModels(ErrorEnvelopeDto),
    ...[...byStatus].map(([status, list]) =>
      ApiResponse({
        status,
        description: [...new Set(list)].map((s) => `${s.code} ${s.msg}`).join('; '),
        schema: { $ref: getSchemaPath(ErrorEnvelopeDto) },
      }),
    ),
  );
}

/** A client route: `Authorization: Bearer <token from /auth/*>`; revoked sessions tell why (20101-20104). */
export const ApiClientAuth = () =>
  applyDecorators(
    ApiBearerAuth(CLIENT_AUTH),
    ApiErrors(ErrorCode.UNAUTHORIZED, ErrorCode.SESSION_MIGRATED, ErrorCode.SESSION_UNBOUND, ErrorCode.SESSION_REPLACED, ErrorCode.SESSION_USER_GONE),
  );

/** A staff route: `Authorization: Bearer <token from /oa/auth/login>`; 403 when the role may not. */
export const ApiStaffAuth = () => applyDecorators(ApiBearerAuth(STAFF_AUTH), ApiErrors(ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN));
