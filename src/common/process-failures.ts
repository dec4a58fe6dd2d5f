import type { AppLogger } from './logging';
import { flushLogs } from './logging';

/**
 * What goes wrong outside any request still comes out as a JSON line, not as Node's plain text: a
 * crash (an uncaught exception or an unhandled rejection, after which the process exits 1 as Node
 * would) and Node's own warnings. Once the process is closing, a rejection nobody awaited is a
 * dependency's late news (the Socket.IO adapter's unsubscribe when Redis dies with the SIGTERM),
 * not a crash: it is logged as a warning and the bounded close goes on.
 */
export function processFailureHandlers(logger: AppLogger, options: { closing: () => boolean; exit: (code: number) => void }) {
  const crash = (what: string, err: unknown) => {
    logger.fatal({ context: 'Main', err }, `${what}: ${messageOf(err)}: exiting`);
    flushLogs(logger);
    options.exit(1);
  };
  return {
    uncaughtException: (err: Error) => crash('uncaught exception', err),
    unhandledRejection: (reason: unknown) => {
      if (!options.closing()) return crash('unhandled rejection', reason);
      logger.warn({ context: 'Shutdown', err: reason }, `while closing: ${messageOf(reason)}`);
    },
    warning: (warning: Error) => logger.warn({ context: 'Node', warning: { name: warning.name, code: (warning as { code?: string }).code } }, warning.message),
  };
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
