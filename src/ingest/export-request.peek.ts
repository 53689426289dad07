import { createHash } from 'node:crypto';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { invalidArgument } from '../errors/domain-error';
import {
  CollectorInfo,
  ExportSessionsRequest,
  type Session,
} from '../../generated/catsyphon/telemetry/v1/sessions';

/** What is known of an ExportSessions request before its sessions are decoded. */
export interface RequestPeek {
  /**
   * SHA-256 of the exact wire bytes (an exact resend has the same), computed
   * on first read. Undefined once the sessions were decoded: the bytes are
   * released then, so read it first, and only when a resend is likely.
   */
  readonly digest: Buffer | undefined;
  readonly sessionCount: number;
  readonly messageCount: number;
  /** Size of the request on the wire. */
  readonly bytes: number;
}

const peeks = new WeakMap<object, RequestPeek>();

/** The peek of a request decoded by lazyExportRequest, if it was. */
export function peekOf(request: object): RequestPeek | undefined {
  return peeks.get(request);
}

/**
 * An ExportSessionsRequest whose `sessions` decode on first access: the
 * deserializer reads collector and batch_id and counts sessions and messages
 * by walking the wire format; the bytes are digested on demand. A replay of a
 * cached batch (an exact resend) is then answered without decoding its
 * sessions at all, which was the largest cost of a replay. The
 * fields read eagerly follow the generated decoder (the last occurrence
 * wins); malformed bytes throw here, as the generated decoder would.
 */
export function lazyExportRequest(bytes: Buffer): ExportSessionsRequest {
  const reader = new BinaryReader(bytes);
  let collector: CollectorInfo | undefined;
  let batchId = '';
  let sessionCount = 0;
  let messageCount = 0;
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) collector = CollectorInfo.decode(reader, reader.uint32());
    else if (field === 2 && wireType === WireType.LengthDelimited) batchId = reader.string();
    else if (field === 3 && wireType === WireType.LengthDelimited) {
      sessionCount++;
      messageCount += count(reader.bytes(), 9, (thread) => count(thread, 5));
    } else reader.skip(wireType, field);
  }
  let source: Buffer | undefined = bytes;
  let sessions: Session[] | undefined;
  const request: ExportSessionsRequest = {
    collector,
    batchId,
    get sessions(): Session[] {
      if (!sessions) {
        try {
          sessions = ExportSessionsRequest.decode(source as Buffer).sessions;
        } catch (err) {
          throw invalidArgument(`request is not a valid protobuf message: ${err instanceof Error ? err.message : String(err)}`);
        }
        source = undefined; // the decoded sessions own their data now
      }
      return sessions;
    },
  };
  let digest: Buffer | undefined;
  peeks.set(request, {
    get digest() {
      if (!digest && source) digest = createHash('sha256').update(source).digest();
      return digest;
    },
    sessionCount,
    messageCount,
    bytes: bytes.length,
  });
  return request;
}

/** Occurrences of length-delimited `field` in a message, or the sum of `inner` over them. */
function count(message: Uint8Array, field: number, inner?: (bytes: Uint8Array) => number): number {
  const reader = new BinaryReader(message);
  let n = 0;
  while (reader.pos < reader.len) {
    const [f, wireType] = reader.tag();
    if (f === field && wireType === WireType.LengthDelimited) {
      if (inner) n += inner(reader.bytes());
      else {
        reader.skip(wireType, f);
        n++;
      }
    } else reader.skip(wireType, f);
  }
  return n;
}
