import { type CollectorInfo, ExportSessionsRequest, Session } from '../../generated/catsyphon/telemetry/v1/sessions';

/** Limits a batch must respect; they mirror the server's. */
export interface BatchLimits {
  /** The server's MAX_SESSIONS_PER_BATCH (default 1000). */
  readonly maxSessions: number;
  /** Largest encoded request the server accepts (its max receive message size). */
  readonly maxBytes: number;
}

/** Sessions of one batch, with their positions in the caller's input. */
export interface PlannedBatch {
  readonly indexes: number[];
  readonly sessions: Session[];
  /** Each session's encoding, as measured: the request is built from these, not encoded again. */
  readonly encoded: Uint8Array[];
  /** Encoded size of the request this batch becomes (sessions plus overhead). */
  readonly bytes: number;
}

export interface BatchPlan {
  readonly batches: PlannedBatch[];
  /** Sessions that alone exceed maxBytes: they are never sent. */
  readonly oversized: Array<{ index: number; bytes: number }>;
}

/** Bytes a length-delimited field of `length` bytes costs on the wire: tag + varint length + payload. */
export function fieldBytes(length: number): number {
  let varint = 1;
  for (let n = length; n >= 0x80; n = Math.floor(n / 0x80)) varint++;
  return 1 + varint + length;
}

/** Encoded size of one session inside a `repeated Session sessions` field. */
export function sessionWireBytes(session: Session): number {
  return fieldBytes(Session.encode(session).finish().length);
}

/**
 * The encoded ExportSessionsRequest for sessions encoded already: byte for
 * byte what ExportSessionsRequest.encode gives for the whole request (sessions
 * are field 3, written last), without encoding the sessions a second time.
 */
export function encodeRequest(collector: CollectorInfo | undefined, batchId: string, encoded: readonly Uint8Array[]): Buffer {
  const writer = ExportSessionsRequest.encode({ collector, batchId, sessions: [] });
  for (const session of encoded) writer.uint32(26).bytes(session);
  const bytes = writer.finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Splits sessions into batches that fit both limits, keeping input order.
 * `overheadBytes` is what the rest of the request costs (batch_id, collector).
 * Measured with the generated encoder, so the sizes are exact.
 */
export function planBatches(sessions: readonly Session[], limits: BatchLimits, overheadBytes = 0): BatchPlan {
  const batches: PlannedBatch[] = [];
  const oversized: BatchPlan['oversized'] = [];
  let current: { indexes: number[]; sessions: Session[]; encoded: Uint8Array[]; bytes: number } | undefined;
  sessions.forEach((session, index) => {
    const encoded = Session.encode(session).finish();
    const bytes = fieldBytes(encoded.length);
    if (bytes + overheadBytes > limits.maxBytes) {
      oversized.push({ index, bytes });
      return;
    }
    if (current && (current.sessions.length >= limits.maxSessions || current.bytes + bytes > limits.maxBytes)) {
      batches.push(current);
      current = undefined;
    }
    current ??= { indexes: [], sessions: [], encoded: [], bytes: overheadBytes };
    current.indexes.push(index);
    current.sessions.push(session);
    current.encoded.push(encoded);
    current.bytes += bytes;
  });
  if (current) batches.push(current);
  return { batches, oversized };
}
