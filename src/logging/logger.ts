import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * Paths pino blanks out in every log line. API keys travel in the
 * `authorization` metadata; nothing that may hold one is ever logged as is.
 */
export const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  'metadata.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'apiKey',
  '*.apiKey',
  '*.*.apiKey',
  'api_key',
  '*.api_key',
  'key',
  '*.key',
  'password',
  '*.password',
  'databaseUrl',
  '*.databaseUrl',
];

/** The one root logger, created in main(); modules take child loggers of it. */
export function createRootLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'catsyphon-ingest' },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/**
 * Where the server's log lines go. JSON (asynchronous, flushed on exit) is the
 * default everywhere a machine reads them: containers, pipes, files. On a
 * terminal (`auto` with a TTY, or LOG_FORMAT=pretty) they are readable lines.
 */
export function serverLogDestination(
  format: 'auto' | 'json' | 'pretty',
  isTty: boolean,
  prettyOut: NodeJS.WritableStream | number = 1,
): pino.DestinationStream {
  if (format === 'pretty' || (format === 'auto' && isTty)) {
    return pretty({ colorize: isTty, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', sync: true, destination: prettyOut });
  }
  // Asynchronous stdout: a log line no longer costs a blocking write per RPC.
  return pino.destination({ dest: 1, sync: false });
}
