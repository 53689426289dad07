import { startApp } from '../app';
import type { Config } from '../config/config';
import { createRootLogger, serverLogDestination } from '../logging/logger';

/**
 * Runs the server until SIGTERM or SIGINT, then shuts down gracefully:
 * NOT_SERVING, drain in-flight calls, stop the server, close the database,
 * exit 0. A second signal exits at once with code 1.
 */
export async function serve(config: Config): Promise<void> {
  // pino flushes what is buffered on exit (also after an uncaught exception).
  const logger = createRootLogger(config.logLevel, serverLogDestination(config.logFormat, process.stdout.isTTY === true));
  const app = await startApp(config, logger);
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    app.stop().then(
      () => {
        logger.info('shutdown complete');
        logger.flush();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
