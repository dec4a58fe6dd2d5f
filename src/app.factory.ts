import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'crypto';
import { Logger } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { AppModule } from './app.module';
import { clientError, frameworkError } from './common/http-framework-errors';
import { acceptJsonBodiesOnly } from './common/json-body';
import { AppConfig, loadConfig, trustProxyOption } from './config/app-config';
import { RedisIoAdapter } from './device/redis-io.adapter';
import { setupApiDocs } from './docs/docs.setup';

export interface CreateAppOptions {
  /** false: no Nest logger (tests); request logs still follow LOG_LEVEL. */
  logger?: false;
  /** Where the JSON log lines go instead of stdout (tests read them). */
  logDestination?: DestinationStream;
}

/** Builds the application exactly as main.ts runs it; tests call this with their own config. */
export async function createApp(given?: AppConfig, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const config = given ?? loadConfig();
  const adapter = new FastifyAdapter({
    bodyLimit: 64 * 1024,
    // request.ip, used by every limit and written in the logs, is what the trusted proxies report.
    trustProxy: trustProxyOption(config.TRUST_PROXY),
    // A device identifier is up to 128 characters, three times that when a client percent-encodes it.
    routerOptions: { maxParamLength: 512 },
    frameworkErrors: frameworkError,
    clientErrorHandler: clientError,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && /^[\w-]{1,64}$/.test(given) ? given : randomUUID();
      // On the raw request too, where pino-http (a middleware) reads it: one id for the reply and every log line.
      (req as { id?: string }).id = id;
      return id;
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options.logDestination), adapter, {
    bodyParser: false,
    bufferLogs: options.logger !== false,
    ...(options.logger === false ? { logger: false } : {}),
  });
  acceptJsonBodiesOnly(app.getHttpAdapter().getInstance());
  if (options.logger !== false) app.useLogger(app.get(Logger));
  const io = new RedisIoAdapter(app);
  await io.connect(config);
  app.useWebSocketAdapter(io);
  setupApiDocs(app);
  return app;
}
