import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Server } from 'http';
import pino from 'pino';
import { createApp } from './app.factory';
import { AppLogger, createLogger, flushLogs } from './common/logging';
import { processFailureHandlers } from './common/process-failures';
import { AppConfig, ConfigError, loadConfig } from './config/app-config';
import { loadEnvFiles } from './config/env-files';
import { describeMysql } from './database/data-source-options';
import { isCluster, RedisClient } from './redis/redis-client';
import { REDIS_CLIENT } from './redis/redis.constants';
import { redisAddress } from './redis/redis.factory';

/** Set at the first SIGTERM or SIGINT: from then on the process only closes. */
let shuttingDown = false;

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    loadEnvFiles();
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return startFailed(err, 2);
  }
  const logger = createLogger(config);
  reportProcessFailures(logger);
  let app: NestFastifyApplication;
  try {
    app = await createApp(config, { appLogger: logger });
    await app.listen(config.PORT, '0.0.0.0');
  } catch (err) {
    return startFailed(err as Error, 1, logger);
  }
  logStarted(app, config, logger);
  exitOnSignals(app, config.SHUTDOWN_TIMEOUT_SECONDS, logger);
}

/** The line that says the process serves, and what it connected to; never a password. */
function logStarted(app: NestFastifyApplication, config: AppConfig, logger: AppLogger): void {
  const redis = app.get<RedisClient>(REDIS_CLIENT);
  const mysql = describeMysql(config);
  const masters = isCluster(redis) ? redis.nodes('master').map((node) => `${node.options.host}:${node.options.port}`) : undefined;
  const target = masters ? `cluster ${masters.join(',')}` : redisAddress(config);
  logger.info(
    { context: 'Main', port: config.PORT, mysql, redis: target, ...(masters && { redisClusterNodes: config.REDIS_CLUSTER_NODES }), cdcMode: config.CDC_MODE },
    `hi-server listening on port ${config.PORT}: MySQL ${mysql}, Redis ${target}, CDC_MODE=${config.CDC_MODE}`,
  );
}

/**
 * SIGTERM or SIGINT closes the application (HTTP first, then sockets, change capture, Redis and
 * MySQL). Whatever Redis and MySQL do meanwhile, the process is gone within the timeout: work that
 * hangs on a dependency that went away is abandoned, as a second signal abandons it at once.
 */
function exitOnSignals(app: NestFastifyApplication, timeoutSeconds: number, logger: AppLogger): void {
  const log = logger.child({ context: 'Shutdown' });
  const exit = (code: number) => {
    flushLogs(logger);
    process.exit(code);
  };
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) {
      log.warn({ signal, exitCode: 1 }, `${signal} again: exiting now`);
      exit(1);
    }
    closing = true;
    shuttingDown = true;
    const started = Date.now();
    log.info({ signal, timeoutSeconds }, `${signal}: closing (at most ${timeoutSeconds} s)`);
    setTimeout(() => {
      log.error({ signal, exitCode: 1 }, `not closed after ${timeoutSeconds} s (a request, a client or a dependency still holds it): exiting anyway`);
      exit(1);
    }, timeoutSeconds * 1000);
    // The listener closes once every connection is gone. A keep-alive connection whose request was
    // still running when the close began stays open after it, and would hold the process for as
    // long as its client keeps it: each is closed as soon as it is idle.
    const server = app.getHttpServer() as Server;
    setInterval(() => server.closeIdleConnections(), 100).unref();
    app.close().then(
      () => {
        const ms = Date.now() - started;
        log.info({ signal, ms, exitCode: 0 }, `closed in ${ms} ms`);
        exit(0);
      },
      (err: Error) => {
        const ms = Date.now() - started;
        log.error({ signal, ms, exitCode: 1, err }, `closing failed after ${ms} ms: ${err.message}`);
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

function reportProcessFailures(logger: AppLogger): void {
  const handlers = processFailureHandlers(logger, { closing: () => shuttingDown, exit: (code) => process.exit(code) });
  process.on('uncaughtException', handlers.uncaughtException);
  process.on('unhandledRejection', handlers.unhandledRejection);
  process.removeAllListeners('warning');
  process.on('warning', handlers.warning);
}

/**
 * Whatever LOG_LEVEL says, a process that does not start says why, as the last line on stdout: a
 * bad setting (exit 2; the log's own settings may be among them, so a plain JSON line), or a
 * dependency that cannot be reached (exit 1), after every line written before it.
 */
function startFailed(err: Error, code: 1 | 2, logger?: AppLogger): never {
  const out = logger ?? pino({ messageKey: 'msg' }, pino.destination({ dest: 1, sync: true }));
  if (!out.isLevelEnabled('fatal')) out.level = 'fatal';
  // The error as it is, not pino's message of its causes too: its message names its cause already.
  const error = code === 2 ? undefined : { type: err.name, message: err.message, stack: err.stack };
  out.fatal({ context: 'Main', err: error }, `hi-server failed to start: ${err.message}`);
  flushLogs(out);
  process.exit(code);
}

main().catch((err: Error) => startFailed(err, 1));
