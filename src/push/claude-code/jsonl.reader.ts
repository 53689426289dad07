import { basename } from 'node:path';

/** One parsed line of a Claude Code transcript. */
export interface TranscriptLine {
  /** 0-based index among the file's lines (blank and malformed lines count too). */
  readonly index: number;
  /** The line's bytes exactly as on disk, without the newline. */
  readonly raw: Buffer;
  readonly entry: Record<string, unknown>;
}

/** A transcript file after reading. */
export interface TranscriptFile {
  readonly path: string;
  readonly lines: TranscriptLine[];
  /**
   * Lines that are complete on disk: every newline-terminated line, plus a
   * final unterminated line that parses (a half-written last line does not
   * count, so it is read again once it is complete).
   */
  readonly completeLines: number;
  /** Bytes of the first line, to notice a file replaced by another. */
  readonly head: Buffer;
  /** Skipped lines, each with the reason ("path:line: reason"). */
  readonly warnings: string[];
}

/** Splits a JSONL buffer into lines and parses each; bad lines become warnings, never errors. */
export function readTranscript(path: string, data: Buffer): TranscriptFile {
  const lines: TranscriptLine[] = [];
  const warnings: string[] = [];
  let start = 0;
  let index = 0;
  let completeLines = 0;
  let head: Buffer = Buffer.alloc(0);
  while (start < data.length) {
    let end = data.indexOf(0x0a, start);
    const terminated = end !== -1;
    if (!terminated) end = data.length;
    const raw = data.subarray(start, end);
    if (index === 0) head = raw;
    const text = raw.toString('utf8').trim();
    if (text !== '') {
      const parsed = parseLine(text);
      if (typeof parsed === 'string') {
        if (terminated) warnings.push(`${basename(path)}:${index + 1}: skipped malformed line (${parsed})`);
        else warnings.push(`${basename(path)}:${index + 1}: skipped incomplete last line (${parsed})`);
      } else {
        lines.push({ index, raw: Buffer.from(raw), entry: parsed });
      }
      if (terminated || typeof parsed !== 'string') completeLines = index + 1;
    } else if (terminated) {
      completeLines = index + 1;
    }
    start = end + 1;
    index++;
  }
  return { path, lines, completeLines, head: Buffer.from(head), warnings };
}

function parseLine(text: string): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return (err as Error).message;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  return value as Record<string, unknown>;
}
