import pino, { type Logger } from 'pino';

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
