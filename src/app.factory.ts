import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DestinationStream } from 'pino';
import { AppModule } from './app.module';
import { envelopeAnswers } from './common/envelope';
import { clientError, frameworkError } from './common/http-framework-errors';
import { acceptJsonBodiesOnly } from './common/json-body';
import { ErrorCode } from './common/error-codes';
import { AccessLog, accessLogger, AppLogger, createLogger, noteBusinessCode, PinoNestLogger, requestIdOf } from './common/logging';
import { AppConfig, loadConfig, trustProxyOption } from './config/app-config';
import { RedisIoAdapter } from './device/redis-io.adapter';
import { DOCS_JSON_PATH, setupApiDocs } from './openapi/docs.setup';

export interface CreateAppOptions {
  /** false: no Nest logger (tests); request logs still follow LOG_LEVEL. */
  logger?: false;
  /** Where the JSON log lines go instead of stdout (tests read them). */
  logDestination?: DestinationStream;
  /** The process's logger, made by the caller (main.ts writes a failed start-up with it). */
  appLogger?: AppLogger;
}

/** Builds the application exactly as main.ts runs it; tests call this with their own config. */
export async function createApp(given?: AppConfig, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const config = given ?? loadConfig();
  const logger: AppLogger = options.appLogger ?? createLogger(config, options.logDestination);
  const accessLog = new AccessLog(accessLogger(logger));
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    logController: accessLog,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => requestIdOf(req.headers),
    bodyLimit: 64 * 1024,
    // request.ip, used by every limit and written in the logs, is what the trusted proxies report.
    trustProxy: trustProxyOption(config.TRUST_PROXY),
    // A device identifier is up to 128 characters, three times that when a client percent-encodes it.
    routerOptions: { maxParamLength: 512 },
    // Fastify answers these before any hook runs: the request id and the request's line are added here.
    frameworkErrors: (err: Parameters<typeof frameworkError>[0], request: FastifyRequest, reply: FastifyReply) => {
      void reply.header('x-request-id', request.id);
      noteBusinessCode(reply, ErrorCode.INVALID_PARAM.code);
      reply.raw.once('finish', () => accessLog.requestCompleted(null, request, reply));
      frameworkError(err, request, reply);
    },
    clientErrorHandler: clientError,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, logger), adapter, {
    bodyParser: false,
    // A start-up failure reaches the caller (main.ts logs it and exits 1) instead of aborting.
    abortOnError: false,
    ...(options.logger === false ? { logger: false } : { logger: new PinoNestLogger(logger) }),
  });
  const fastify = app.getHttpAdapter().getInstance();
  acceptJsonBodiesOnly(fastify);
  envelopeAnswers(fastify, [`/${DOCS_JSON_PATH}`]);
  fastify.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });
  const io = new RedisIoAdapter(app);
  await io.connect(config);
  app.useWebSocketAdapter(io);
  setupApiDocs(app);
  return app;
}
