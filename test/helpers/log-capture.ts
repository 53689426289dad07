import { Writable } from 'node:stream';
import { createRootLogger, type Logger } from '../../src/logging/logger';

/** A real pino logger (with the real redaction) whose lines are kept in memory. */
export function captureLogger(level = 'debug'): { logger: Logger; lines: string[]; text(): string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createRootLogger(level, sink), lines, text: () => lines.join('\n') };
}
