import { LoggerService } from '@nestjs/common';
import { FastifyReply, FastifyRequest, LogController } from 'fastify';
import pino, { DestinationStream } from 'pino';
import { AppConfig } from '../config/app-config';

/**
 * Fields that must never reach a log line, as exact paths: pino's redaction of wildcard paths
 * (`*.password`) walks every key of every line and cost four times the rest of a request's log
 * line (bench/RESULTS.md). Request lines carry only what the req/res serializers below pick, and
 * the service logs objects in one place (the error filter's `err`), so the paths name where a
 * secret can be; a new log call that logs an object names its secret fields here.
 * `code` alone is not redacted: error objects carry codes like ECONNREFUSED that diagnosis needs;
 * a verification code only ever travels in a body.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'password',
  'newPassword',
  'token',
  'accessToken',
  'emailCode',
  ...['body'].flatMap((at) => ['password', 'newPassword', 'token', 'accessToken', 'emailCode', 'code'].map((field) => `${at}.${field}`)),
  // Errors logged whole: a failed query's parameters (password hashes, phones, emails) and a
  // failed Redis command's arguments (an email code, a session id) stay out of the log.
  'err.parameters',
  'err.driverError.sql',
  'err.sql',
  'err.command',
  'err.previousErrors',
];

/** Query parameters whose values are secrets if anyone ever sends them in a URL. */
const SECRET_QUERY = /([?&](?:token|access_token|password|code)=)[^&]*/gi;

/** Scrapes and liveness probes come every few seconds and say nothing: no completion line for them. */
const PROBES = new Set(['/metrics', '/health/live']);

/** The one pino logger of the process: Fastify's request logger and Nest's logger write through it. */
export type AppLogger = pino.Logger;
export const APP_LOGGER = Symbol('APP_LOGGER');

/**
 * JSON lines from the first to the last. Written asynchronously (the buffer fills while a write is
 * in flight, so a busy process makes few syscalls); `flushLogs` before the process exits.
 */
export function createLogger(config: AppConfig, destination?: DestinationStream): AppLogger {
  const options: pino.LoggerOptions = {
    level: config.LOG_LEVEL,
    messageKey: 'msg',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
}

/**
 * The completion lines' own logger, on the same stream: they carry only the fields AccessLog picks,
 * none of them a secret, so they skip the redaction every other line pays for.
 */
export function accessLogger(logger: AppLogger): AppLogger {
  return pino({ level: logger.level, messageKey: 'msg' }, (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym]);
}

/** Writes out what is buffered, synchronously: before process.exit, or the last lines are lost. */
export function flushLogs(logger: AppLogger): void {
  const stream = (logger as unknown as Record<symbol, { flushSync?: () => void }>)[pino.symbols.streamSym];
  try {
    stream?.flushSync?.();
  } catch {
    // a destination not open yet has nothing to flush
  }
}

/**
 * Nest's logger (start-up, `new Logger(context)` in services) over the same pino: the context is a
 * field, an error's stack goes with it.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: AppLogger) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  /** Nest passes `(message, context)`, or `(message, stack, context)` for errors. */
  private write(level: pino.Level, message: unknown, rest: unknown[]): void {
    if (!this.logger.isLevelEnabled(level)) return;
    const context = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    const stack = rest.length > 1 && typeof rest[0] === 'string' ? rest[0] : undefined;
    if (message instanceof Error) this.logger[level]({ context, err: message }, message.message);
    else if (typeof message === 'object' && message !== null) this.logger[level]({ context, ...message });
    else this.logger[level](stack ? { context, stack } : { context }, String(message));
  }
}

/**
 * Fastify's request log lines, as this service writes them: no "incoming request" line, one
 * completion line per request except probes, with the client address the limits count, and the
 * business code of a 4xx or 5xx answer. Every line of a request carries its `requestId` (the
 * request's child logger). Nothing is serialised for a request that is not logged.
 */
export class AccessLog extends LogController {
  constructor(private readonly lines: AppLogger) {
    super({ requestIdLogLabel: 'requestId' });
  }

  incomingRequest(): void {}

  requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const url = request.url;
    const end = url.indexOf('?');
    if (PROBES.has(end === -1 ? url : url.slice(0, end))) return;
    const code = reply.statusCode >= 400 ? businessCodeOf(reply) : undefined;
    const line = {
      requestId: request.id,
      req: { method: request.method, url: url.replace(SECRET_QUERY, '$1[redacted]'), userAgent: request.headers['user-agent'], remoteAddress: request.ip },
      res: { statusCode: reply.statusCode },
      ...(code !== undefined && { code }),
      responseTime: Math.round(reply.elapsedTime * 100) / 100,
      ...(error && { err: error }),
    };
    if (error) this.lines.error(line, 'request errored');
    else this.lines.info(line, 'request completed');
  }
}

const BUSINESS_CODE = Symbol('businessCode');

/** The error filter notes the business code of the answer it gives, for the access log. */
export function noteBusinessCode(reply: FastifyReply, code: number): void {
  (reply as FastifyReply & { [BUSINESS_CODE]?: number })[BUSINESS_CODE] = code;
}

function businessCodeOf(reply: FastifyReply): number | undefined {
  return (reply as FastifyReply & { [BUSINESS_CODE]?: number })[BUSINESS_CODE];
}
