import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from './app-error';
import { isDatabaseError, isDatabaseUnreachableError, isRedisUnavailableError } from './error-classifier';
import { ErrorCode, ErrorSpec } from './error-codes';
import { noteBusinessCode } from './logging';

interface Body {
  code: number;
  msg: string;
  data?: unknown;
  requestId?: string;
}

const HTTP_STATUS_SPEC: Record<number, ErrorSpec> = {
  400: ErrorCode.INVALID_PARAM,
  401: ErrorCode.UNAUTHORIZED,
  403: ErrorCode.FORBIDDEN,
  404: ErrorCode.NOT_FOUND,
  413: ErrorCode.INVALID_PARAM,
  415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  429: ErrorCode.TOO_MANY_REQUESTS,
  503: ErrorCode.UNAVAILABLE,
};

/** The one error path: known errors become the envelope, anything else a 500 that hides internals. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(err: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return;
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const [status, body, cause] = this.toResponse(err, request);
    noteBusinessCode(reply, body.code, cause);
    if (err instanceof AppError && err.retryAfterSeconds !== undefined) void reply.header('retry-after', err.retryAfterSeconds);
    void reply.status(status).send(body);
  }

  /** The answer, and for an outage of Redis or MySQL its cause for the request's log line. */
  private toResponse(err: unknown, request: FastifyRequest): [number, Body, string?] {
    if (err instanceof AppError) {
      const body: Body = { code: err.code, msg: err.message };
      if (err.data !== undefined) body.data = err.data;
      return [err.status, body];
    }
    if (err instanceof ThrottlerException) {
      return [429, { code: ErrorCode.TOO_MANY_REQUESTS.code, msg: ErrorCode.TOO_MANY_REQUESTS.msg }];
    }
    if (err instanceof HttpException) {
      const status = err.getStatus();
      const spec = HTTP_STATUS_SPEC[status];
      if (spec) return [status, { code: spec.code, msg: this.httpMessage(err, spec) }];
      if (status < 500) return [status, { code: ErrorCode.INVALID_PARAM.code, msg: this.httpMessage(err, ErrorCode.INVALID_PARAM) }];
    }
    const fastifyStatus = (err as { statusCode?: unknown }).statusCode;
    if (typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
      // Fastify's own refusals (malformed JSON, body too large, wrong content type).
      const spec = HTTP_STATUS_SPEC[fastifyStatus] ?? ErrorCode.INVALID_PARAM;
      return [fastifyStatus, { code: spec.code, msg: `${spec.msg}: ${(err as Error).message}` }];
    }
    // An outage is logged once per change of state (RedisConnectionWatch, MysqlConnectionWatch),
    // not with a stack trace per request: the request's line carries the cause.
    if (isRedisUnavailableError(err)) {
      return [503, { code: ErrorCode.UNAVAILABLE.code, msg: 'redis unavailable', requestId: String(request.id) }, `redis: ${(err as Error).message}`];
    }
    if (isDatabaseError(err) && isDatabaseUnreachableError(err)) {
      return [500, { code: ErrorCode.DB_FAILED.code, msg: ErrorCode.DB_FAILED.msg, requestId: String(request.id) }, `mysql: ${(err as Error).message}`];
    }
    if (isDatabaseError(err)) {
      request.log.error({ context: 'Errors', err }, 'database query failed');
      return [500, { code: ErrorCode.DB_FAILED.code, msg: ErrorCode.DB_FAILED.msg, requestId: String(request.id) }];
    }
    request.log.error({ context: 'Errors', err }, 'unexpected error');
    return [HttpStatus.INTERNAL_SERVER_ERROR, { code: ErrorCode.INTERNAL.code, msg: ErrorCode.INTERNAL.msg, requestId: String(request.id) }];
  }

  private httpMessage(err: HttpException, spec: ErrorSpec): string {
    const response = err.getResponse();
    const message = typeof response === 'string' ? response : (response as { message?: unknown }).message;
    if (Array.isArray(message)) return message.join('; ');
    return typeof message === 'string' && message.length > 0 ? message : spec.msg;
  }
}
