import { RequestMethod } from '@nestjs/common';
import type { IncomingMessage } from 'http';
import { LoggerModule, Params } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
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

function isProbe(req: IncomingMessage & { originalUrl?: string }): boolean {
  // Fastify's middleware engine hands the middleware a url with the mount path cut off; the
  // original is kept beside it.
  const url = req.originalUrl ?? req.url ?? '';
  const end = url.indexOf('?');
  return PROBES.has(end === -1 ? url : url.slice(0, end));
}

/** Every line of a request carries its `requestId`: Fastify's id (x-request-id or a UUID), also the 5xx body's requestId. */
export function loggingParams(config: AppConfig, destination?: DestinationStream): Params {
  const options = {
    level: config.LOG_LEVEL,
    messageKey: 'msg',
    genReqId: (req: IncomingMessage) => (req as IncomingMessage & { id: string }).id,
    customAttributeKeys: { reqId: 'requestId' },
    quietReqLogger: true,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    autoLogging: { ignore: isProbe },
    serializers: {
      req: (req: { id: string; method: string; url: string; headers: Record<string, unknown>; remoteAddress?: string }) => ({
        id: req.id,
        method: req.method,
        url: req.url.replace(SECRET_QUERY, '$1[redacted]'),
        userAgent: req.headers['user-agent'],
        remoteAddress: req.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  };
  return {
    pinoHttp: destination ? [options, destination] : options,
    forRoutes: [{ path: '{*splat}', method: RequestMethod.ALL }],
  };
}

export function loggingModule(destination?: DestinationStream) {
  return LoggerModule.forRootAsync({ inject: [AppConfig], useFactory: (config: AppConfig) => loggingParams(config, destination) });
}
