import { STATUS_CODES } from 'http';
import type { Socket } from 'net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode } from './error-codes';

/**
 * The answers Fastify and Node's HTTP parser give by themselves, before any route runs (bad URL
 * encoding, a path parameter over the limit, headers too large, a malformed request), in the same
 * envelope as every other answer (CONTRACT section 2).
 */
export function frameworkError(err: Error & { statusCode?: number; code?: string }, _request: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode ?? 400;
  const msg =
    err.code === 'FST_ERR_BAD_URL'
      ? 'the URL is not validly encoded'
      : err.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? 'a path parameter is too long'
        : ErrorCode.INVALID_PARAM.msg;
  void reply.code(status).send({ code: ErrorCode.INVALID_PARAM.code, msg });
}

const CLIENT_ERRORS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'request headers too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request timed out'],
};

export function clientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, msg] = CLIENT_ERRORS[err.code ?? ''] ?? [400, 'malformed HTTP request'];
  const body = JSON.stringify({ code: ErrorCode.INVALID_PARAM.code, msg });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
