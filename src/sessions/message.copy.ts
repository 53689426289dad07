import type { CopyIn } from '../db/copy';
import type { Message } from '../../generated/catsyphon/telemetry/v1/sessions';
import { metadataJson, toolCallsJson, toolResultJson } from './session.mapper';

/** The messages of one new thread, stored by COPY. */
export interface CopyThread {
  /** threads.id */
  readonly threadId: string;
  /** sessions.id (uuid text) */
  readonly sessionId: string;
  readonly messages: readonly Message[];
}

/** Column order of the payload (and of the benchmark's baseline); created_at takes its default. */
export const MESSAGE_COLUMNS = [
  'thread_id',
  'seq',
  'session_id',
  'author_role',
  'author_name',
  'message_type',
  'content',
  'content_bin',
  'emitted_at_ns',
  'observed_at_ns',
  'input_tokens',
  'output_tokens',
  'cache_creation_tokens',
  'cache_read_tokens',
  'tool_calls',
  'tool_result',
  'raw_data',
  'metadata',
] as const;

export const COPY_MESSAGES_SQL = `COPY messages (${MESSAGE_COLUMNS.join(', ')}) FROM STDIN (FORMAT binary)`;

/**
 * Appends the messages of threads created in this transaction with one
 * binary COPY (no conflict is possible, so no ON CONFLICT and no RETURNING).
 * The rows are the same as insertNewMessages writes: the json columns hold
 * the same text, NUL-holding content goes to content_bin.
 */
export async function copyNewMessages(copy: CopyIn, threads: readonly CopyThread[]): Promise<void> {
  await copy(COPY_MESSAGES_SQL, encodeMessages(threads));
}

/**
 * The binary COPY payload (https://www.postgresql.org/docs/current/sql-copy.html,
 * "Binary Format"): a header, one tuple per row (field count, then each
 * field as a length and bytes, -1 for NULL), and a trailer. json's binary
 * form is its text; text is UTF-8 (the connection's client_encoding).
 */
export function encodeMessages(threads: readonly CopyThread[]): Buffer[] {
  const w = new CopyWriter();
  for (const t of threads) {
    const threadId = BigInt(t.threadId);
    const sessionId = Buffer.from(t.sessionId.replace(/-/g, ''), 'hex');
    for (const m of t.messages) {
      w.int16(MESSAGE_COLUMNS.length);
      w.int64(threadId);
      w.int32(m.seq);
      w.bytes(sessionId);
      w.int32(m.authorRole);
      w.textOrNull(m.authorName);
      w.int32(m.messageType);
      if (m.content.includes('\u0000')) {
        w.null();
        w.bytes(Buffer.from(m.content, 'utf8'));
      } else {
        w.text(m.content);
        w.null();
      }
      w.int64(m.emittedAtNs);
      w.int64(m.observedAtNs);
      const tokens = m.tokens;
      if (tokens) {
        w.int32(tokens.inputTokens);
        w.int32(tokens.outputTokens);
        w.int32(tokens.cacheCreationTokens);
        w.int32(tokens.cacheReadTokens);
      } else {
        for (let i = 0; i < 4; i++) w.null();
      }
      w.text(toolCallsJson(m.toolCalls));
      w.textOrNull(toolResultJson(m.toolResult));
      w.bytes(m.rawData);
      w.text(metadataJson(m.metadata));
    }
  }
  return w.finish();
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const CHUNK_BYTES = 256 * 1024;

/** Writes COPY fields into 256 KiB chunks (larger when one field needs it). */
class CopyWriter {
  private readonly chunks: Buffer[] = [];
  private buf = Buffer.allocUnsafe(CHUNK_BYTES);
  private o = 0;

  constructor() {
    this.o = SIGNATURE.copy(this.buf, 0);
    this.o = this.buf.writeInt32BE(0, this.o); // flags
    this.o = this.buf.writeInt32BE(0, this.o); // header extension length
  }

  private room(n: number): void {
    if (this.o + n <= this.buf.length) return;
    this.chunks.push(this.buf.subarray(0, this.o));
    this.buf = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, n));
    this.o = 0;
  }

  int16(v: number): void {
    this.room(2);
    this.o = this.buf.writeInt16BE(v, this.o);
  }

  int32(v: number): void {
    this.room(8);
    this.o = this.buf.writeInt32BE(4, this.o);
    this.o = this.buf.writeInt32BE(v, this.o);
  }

  int64(v: bigint): void {
    this.room(12);
    this.o = this.buf.writeInt32BE(8, this.o);
    this.o = this.buf.writeBigInt64BE(v, this.o);
  }

  null(): void {
    this.room(4);
    this.o = this.buf.writeInt32BE(-1, this.o);
  }

  bytes(b: Uint8Array): void {
    this.room(4 + b.length);
    this.o = this.buf.writeInt32BE(b.length, this.o);
    this.buf.set(b, this.o);
    this.o += b.length;
  }

  text(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    this.room(4 + s.length * 3);
    const n = this.buf.write(s, this.o + 4, 'utf8');
    this.buf.writeInt32BE(n, this.o);
    this.o += 4 + n;
  }

  textOrNull(s: string | null | undefined): void {
    if (s === undefined || s === null) this.null();
    else this.text(s);
  }

  finish(): Buffer[] {
    this.int16(-1); // trailer
    this.chunks.push(this.buf.subarray(0, this.o));
    return this.chunks;
  }
}
