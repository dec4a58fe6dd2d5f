import { randomUUID } from 'crypto';
import { LoggerService } from '@nestjs/common';
import { FastifyReply, FastifyRequest, LogController } from 'fastify';
import pino, { DestinationStream } from 'pino';
import { prettyFactory } from 'pino-pretty';
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

/** A request's id: the client's `x-request-id` when it is a plain token of up to 64 characters, else a new UUID. */
export function requestIdOf(headers: Record<string, string | string[] | undefined>): string {
  const given = headers['x-request-id'];
  return typeof given === 'string' && /^[\w-]{1,64}$/.test(given) ? given : randomUUID();
}
export const APP_LOGGER = Symbol('APP_LOGGER');

/**
 * JSON lines from the first to the last. Written asynchronously (the buffer fills while a write is
 * in flight, so a busy process makes few syscalls); `flushLogs` before the process exits.
 * LOG_FORMAT=pretty sends the same lines through pino-pretty instead; the choice is made here,
 * once, so the JSON path does no more per line than it did before pretty existed.
 */
export function createLogger(config: Pick<AppConfig, 'LOG_LEVEL' | 'LOG_FORMAT'>, destination?: DestinationStream): AppLogger {
  const options: pino.LoggerOptions = {
    level: config.LOG_LEVEL,
    messageKey: 'msg',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  return pino(options, destination ?? (config.LOG_FORMAT === 'pretty' ? prettyDestination() : pino.destination({ dest: 1, sync: false })));
}

/**
 * A person at a terminal (`npm run start:dev`): each JSON line made readable by pino-pretty and
 * written at once, in this thread. No worker thread and no buffer, so nothing is lost when the
 * process exits, and the line comes out in order with whatever else the terminal shows.
 */
export function prettyDestination(write: (text: string) => void = stdoutSync()): DestinationStream {
  const prettify = prettyFactory({
    messageKey: 'msg',
    translateTime: 'SYS:HH:MM:ss.l',
    // One line each (an error's stack still below it): the context first, a request's line as
    // `request completed GET /me 200 1.2 ms`, the other fields after it as JSON.
    singleLine: true,
    ignore: 'pid,hostname,context,req,res,responseTime',
    messageFormat: '{if context}[{context}] {end}{msg}{if req.method} {req.method} {req.url} {res.statusCode} {responseTime} ms{end}',
  });
  return { write: (line: string) => write(prettify(line)) };
}

function stdoutSync(): (text: string) => void {
  const out = pino.destination({ dest: 1, sync: true });
  return (text) => void out.write(text);
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
 * Nest's own start-up chatter (every module initialised, every route mapped: a hundred lines) is
 * for debugging; the start-up line main.ts writes says what an operator needs.
 */
const NEST_CHATTER = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'WebSocketsController', 'NestApplication']);

/**
 * Nest's logger (start-up, `new Logger(context)` in services) over the same pino: the context is a
 * field, an error's stack goes with it.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: AppLogger) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write(NEST_CHATTER.has(rest[rest.length - 1] as string) ? 'debug' : 'info', message, rest);
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
    // A start-up failure, which Nest reports here before it rethrows it: main.ts writes the one
    // line that says why the process did not start.
    if (context === 'ExceptionHandler') return;
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
    const answer = reply.statusCode >= 400 ? answerOf(reply) : undefined;
    const line = {
      requestId: request.id,
      req: { method: request.method, url: url.replace(SECRET_QUERY, '$1[redacted]'), userAgent: request.headers['user-agent'], remoteAddress: request.ip },
      res: { statusCode: reply.statusCode },
      ...answer, // `code`, and `cause` when there is one
      responseTime: Math.round(reply.elapsedTime * 100) / 100,
      ...(error && { err: error }),
    };
    if (error) this.lines.error(line, 'request errored');
    else this.lines.info(line, 'request completed');
  }
}

const ANSWER = Symbol('answer');

interface ErrorAnswer {
  code: number;
  cause?: string;
}

/**
 * The error filter notes the business code of the answer it gives, for the access log, and for a
 * request that failed because Redis or MySQL could not be reached, why: the outage itself is
 * logged once per change of state, not with a stack trace per request.
 */
export function noteBusinessCode(reply: FastifyReply, code: number, cause?: string): void {
  (reply as FastifyReply & { [ANSWER]?: ErrorAnswer })[ANSWER] = cause === undefined ? { code } : { code, cause };
}

function answerOf(reply: FastifyReply): ErrorAnswer | undefined {
  return (reply as FastifyReply & { [ANSWER]?: ErrorAnswer })[ANSWER];
}

/** What a state line names: `redis` or `mysql`, as the `dependency` field says it. */
export type Dependency = 'redis' | 'mysql';
const DEPENDENCY_NAME: Record<Dependency, string> = { redis: 'Redis', mysql: 'MySQL' };

/**
 * A dependency's connection state as the log tells it: one line when it is lost (error level,
 * with the cause) and one when it is regained (info, with how long it was away), whatever number
 * of failed commands, reconnect attempts or probes report the same state in between. It starts
 * up: the process does not start without both.
 */
export class ConnectionStateLog {
  private up = true;
  private since = Date.now();

  constructor(
    private readonly logger: Pick<LoggerService, 'log' | 'error'>,
    readonly dependency: Dependency,
    /** Where it is, as the start-up line names it (`127.0.0.1:3306/hi`); never a password. */
    readonly target: string,
  ) {}

  get isUp(): boolean {
    return this.up;
  }

  lost(cause: string): void {
    if (!this.up) return;
    this.up = false;
    this.since = Date.now();
    const name = DEPENDENCY_NAME[this.dependency];
    this.logger.error({ msg: `${name} connection lost: ${this.target} (${cause})`, dependency: this.dependency, state: 'lost', target: this.target, cause });
  }

  regained(): void {
    if (this.up) return;
    const downMs = Date.now() - this.since;
    this.up = true;
    this.since = Date.now();
    const name = DEPENDENCY_NAME[this.dependency];
    this.logger.log({
      msg: `${name} connection regained: ${this.target}, ${downMs} ms after it was lost`,
      dependency: this.dependency,
      state: 'regained',
      target: this.target,
      downMs,
    });
  }
}
