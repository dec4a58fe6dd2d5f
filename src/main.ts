import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Server } from 'http';
import pino from 'pino';
import { createApp } from './app.factory';
import { APP_LOGGER, AppLogger, flushLogs } from './common/logging';
import { AppConfig, ConfigError, loadConfig } from './config/app-config';

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return startFailed(err, 2);
  }
  const app = await createApp(config);
  await app.listen(config.PORT, '0.0.0.0');
  new Logger('Main').log(`hi-server listening on port ${config.PORT} (CDC_MODE=${config.CDC_MODE})`);
  exitOnSignals(app, config.SHUTDOWN_TIMEOUT_SECONDS);
}

/**
 * SIGTERM or SIGINT closes the application (HTTP first, then sockets, change capture, Redis and
 * MySQL). Whatever Redis and MySQL do meanwhile, the process is gone within the timeout: work that
 * hangs on a dependency that went away is abandoned, as a second signal abandons it at once.
 */
function exitOnSignals(app: NestFastifyApplication, timeoutSeconds: number): void {
  const logger = new Logger('Shutdown');
  const lines = app.get<AppLogger>(APP_LOGGER);
  const exit = (code: number) => {
    flushLogs(lines);
    process.exit(code);
  };
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) {
      logger.warn(`${signal} again: exiting now`);
      exit(1);
    }
    closing = true;
    const started = Date.now();
    logger.log(`${signal}: closing (at most ${timeoutSeconds} s)`);
    setTimeout(() => {
      logger.error(`not closed after ${timeoutSeconds} s (a request, a client or a dependency still holds it): exiting anyway`);
      exit(1);
    }, timeoutSeconds * 1000);
    // The listener closes once every connection is gone. A keep-alive connection whose request was
    // still running when the close began stays open after it, and would hold the process for as
    // long as its client keeps it: each is closed as soon as it is idle.
    const server = app.getHttpServer() as Server;
    setInterval(() => server.closeIdleConnections(), 100).unref();
    app.close().then(
      () => {
        logger.log(`closed in ${Date.now() - started} ms`);
        exit(0);
      },
      (err: Error) => {
        logger.error(`closing failed after ${Date.now() - started} ms: ${err.message}`);
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Whatever LOG_LEVEL says, a process that does not start says why: a JSON line on stderr. Exits 2 for a bad setting, else 1. */
function startFailed(err: Error, code: 1 | 2): never {
  pino({ messageKey: 'msg' }, pino.destination({ dest: 2, sync: true })).fatal(
    { err: code === 2 ? undefined : err },
    `hi-server failed to start: ${err.message}`,
  );
  process.exit(code);
}

main().catch((err: Error) => startFailed(err, 1));
