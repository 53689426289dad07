import { Session } from '../generated/catsyphon/telemetry/v1/sessions';

/**
 * Builds ExportSessionsRequest bytes by hand from pre-encoded sessions, so
 * the load client spends almost no CPU per batch (it shares the 2 cores with
 * the server and PostgreSQL). Protobuf allows fields in any order, so a
 * session template encoded with an empty id plus a leading `id` field decodes
 * to the same Session with that id.
 */
export const EXPORT_SESSIONS_PATH = '/catsyphon.telemetry.v1.SessionIngestion/ExportSessions';
export const GET_SESSION_STATUS_PATH = '/catsyphon.ingest.v1.SessionQueryService/GetSessionStatus';

const TAG_SESSION_ID = 0x0a; // Session.id = 1, length-delimited
const TAG_BATCH_ID = 0x12; // ExportSessionsRequest.batch_id = 2
const TAG_SESSIONS = 0x1a; // ExportSessionsRequest.sessions = 3
const TAG_STATUS_SESSION_ID = 0x0a; // GetSessionStatusRequest.session_id = 1
const TAG_STATUS_ASSISTANT = 0x10; // GetSessionStatusRequest.assistant = 2, varint

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

function stringField(tag: number, value: string): Buffer[] {
  const bytes = Buffer.from(value, 'utf8');
  return [Buffer.of(tag), varint(bytes.length), bytes];
}

/** A session encoded once without its id; `withId` is cheap. */
export class SessionTemplate {
  readonly bytes: Buffer;
  constructor(session: Session) {
    this.bytes = Buffer.from(Session.encode({ ...session, id: '' }).finish());
  }

  /** The length-delimited `sessions` entry of a request, for this template under `id`. */
  entry(id: string): Buffer[] {
    const idField = stringField(TAG_SESSION_ID, id);
    const length = idField.reduce((n, b) => n + b.length, 0) + this.bytes.length;
    return [Buffer.of(TAG_SESSIONS), varint(length), ...idField, this.bytes];
  }
}

export interface BatchSession {
  readonly template: SessionTemplate;
  readonly id: string;
}

export function encodeExportRequest(batchId: string, sessions: readonly BatchSession[]): Buffer {
  const parts: Buffer[] = batchId ? stringField(TAG_BATCH_ID, batchId) : [];
  for (const s of sessions) parts.push(...s.template.entry(s.id));
  return Buffer.concat(parts);
}

export function encodeGetSessionStatusRequest(sessionId: string, assistant: number): Buffer {
  return Buffer.concat([...stringField(TAG_STATUS_SESSION_ID, sessionId), Buffer.of(TAG_STATUS_ASSISTANT), varint(assistant)]);
}
