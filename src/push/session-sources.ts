import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import type { Session } from '../../generated/catsyphon/telemetry/v1/sessions';
import { readTranscript, type TranscriptFile } from './claude-code/jsonl.reader';
import { buildSessions } from './claude-code/session.builder';
import type { InputFiles } from './input-files';
import { sessionsFromJson } from './json-sessions';
import type { ObservationLedger } from './observation-ledger';

/** Sessions read from one JSON file or one transcript group, or why it could not be read. */
export interface SourceChunk {
  readonly sessions: Session[];
  readonly warnings: string[];
  readonly errors: string[];
  /** Input files this chunk consumed, and their size. */
  readonly files: number;
  readonly bytes: number;
}

/**
 * The session id a transcript belongs to, read without loading the whole
 * file: the first `sessionId` of its lines (agent files carry their
 * parent's), else the file name — the same rule as the session builder.
 */
export async function peekSessionId(path: string): Promise<string> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      try {
        const id = (JSON.parse(line) as { sessionId?: unknown })?.sessionId;
        if (typeof id === 'string' && id !== '') return id;
      } catch {
        // malformed lines are reported when the file is read for real
      }
    }
  } finally {
    lines.close();
  }
  return basename(path).replace(/\.jsonl$/, '');
}

/** Transcript files grouped by session, so one session's files are read together. */
async function groupTranscripts(paths: readonly string[], errors: string[]): Promise<string[][]> {
  const groups = new Map<string, string[]>();
  for (const path of paths) {
    try {
      const id = await peekSessionId(path);
      groups.set(id, [...(groups.get(id) ?? []), path]);
    } catch (err) {
      errors.push(`${path}: ${(err as Error).message}`);
    }
  }
  return [...groups.values()];
}

/**
 * Reads the inputs one JSON file or one session's transcripts at a time, so
 * memory holds what is being sent, not the whole of ~/.claude/projects.
 */
export async function* sessionSources(
  inputs: InputFiles,
  ledger: ObservationLedger | undefined,
  nowNs: bigint,
): AsyncGenerator<SourceChunk> {
  for (const path of inputs.json) {
    try {
      const text = await readFile(path, 'utf8');
      yield { sessions: sessionsFromJson(text), warnings: [], errors: [], files: 1, bytes: Buffer.byteLength(text) };
    } catch (err) {
      yield { sessions: [], warnings: [], errors: [`${path}: ${(err as Error).message}`], files: 1, bytes: 0 };
    }
  }
  const groupErrors: string[] = [];
  const groups = await groupTranscripts(inputs.jsonl, groupErrors);
  if (groupErrors.length) yield { sessions: [], warnings: [], errors: groupErrors, files: groupErrors.length, bytes: 0 };
  for (const group of groups) {
    const files: TranscriptFile[] = [];
    const errors: string[] = [];
    let bytes = 0;
    for (const path of group) {
      try {
        const data = await readFile(path);
        bytes += data.length;
        files.push(readTranscript(path, data));
      } catch (err) {
        errors.push(`${path}: ${(err as Error).message}`);
      }
    }
    const built = buildSessions(files, ledger ? { observedAt: (f) => ledger.observe(f, nowNs) } : {});
    yield { sessions: built.sessions, warnings: built.warnings, errors, files: group.length, bytes };
  }
}
