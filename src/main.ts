import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Server } from 'http';
import { createApp } from './app.factory';
import { AppConfig, ConfigError, loadConfig } from './config/app-config';

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
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
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) {
      logger.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    closing = true;
    const started = Date.now();
    logger.log(`${signal}: closing (at most ${timeoutSeconds} s)`);
    setTimeout(() => {
      logger.error(`not closed after ${timeoutSeconds} s (a request, a client or a dependency still holds it): exiting anyway`);
      process.exit(1);
    }, timeoutSeconds * 1000);
    // The listener closes once every connection is gone. A keep-alive connection whose request was
    // still running when the close began stays open after it, and would hold the process for as
    // long as its client keeps it: each is closed as soon as it is idle.
    const server = app.getHttpServer() as Server;
    setInterval(() => server.closeIdleConnections(), 100).unref();
    app.close().then(
      () => {
        logger.log(`closed in ${Date.now() - started} ms`);
        process.exit(0);
      },
      (err: Error) => {
        logger.error(`closing failed after ${Date.now() - started} ms: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((err) => {
  process.stderr.write(`hi-server failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
