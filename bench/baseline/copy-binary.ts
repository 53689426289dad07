import type { PlacedSession } from './message-rows';

/**
 * A PostgreSQL binary COPY encoder for the columns of the messages table
 * (MESSAGE_COLUMNS order): int8, int4, uuid, text, json and bytea. Format:
 * https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4
 */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const FIELDS = 18;

function varSize(b: Buffer | null): number {
  return 4 + (b ? b.length : 0);
}

/** Encodes whole sessions' rows into one COPY payload (header, tuples, trailer). */
export function encodeCopyBatch(sessions: readonly PlacedSession[]): Buffer {
  let size = SIGNATURE.length + 8 + 2;
  for (const s of sessions) {
    for (const r of s.rows) {
      size += 2 + 12 + 8 + 20 + 8 + varSize(r.authorName) + 8 + varSize(r.content) + 4 + 12 + 12 + (r.tokens ? 32 : 16);
      size += varSize(r.toolCalls) + varSize(r.toolResult) + varSize(r.rawData) + varSize(r.metadata);
    }
  }
  const out = Buffer.allocUnsafe(size);
  let o = SIGNATURE.copy(out, 0);
  o = out.writeInt32BE(0, o); // flags
  o = out.writeInt32BE(0, o); // header extension length
  const int4 = (v: number) => {
    o = out.writeInt32BE(4, o);
    o = out.writeInt32BE(v, o);
  };
  const int8 = (v: bigint) => {
    o = out.writeInt32BE(8, o);
    o = out.writeBigInt64BE(v, o);
  };
  const bytes = (b: Buffer | null) => {
    if (b === null) {
      o = out.writeInt32BE(-1, o);
      return;
    }
    o = out.writeInt32BE(b.length, o);
    o += b.copy(out, o);
  };
  for (const s of sessions) {
    for (const r of s.rows) {
      o = out.writeInt16BE(FIELDS, o);
      int8(s.threadBase + BigInt(r.threadIndex));
      int4(r.seq);
      bytes(s.sessionId); // uuid: 16 raw bytes
      int4(r.authorRole);
      bytes(r.authorName);
      int4(r.messageType);
      bytes(r.content);
      bytes(null); // content_bin
      int8(r.emittedAtNs);
      int8(r.observedAtNs);
      for (let i = 0; i < 4; i++) {
        if (r.tokens) int4(r.tokens[i]);
        else bytes(null);
      }
      bytes(r.toolCalls); // json's binary form is its text
      bytes(r.toolResult);
      bytes(r.rawData);
      bytes(r.metadata);
    }
  }
  o = out.writeInt16BE(-1, o);
  if (o !== size) throw new Error(`COPY encoder size mismatch: wrote ${o} of ${size} bytes`);
  return out;
}
