import { Session } from '../../generated/catsyphon/telemetry/v1/sessions';

/**
 * Reads the proto3 JSON that grpcurl sends: one Session, an array of
 * Sessions, or an ExportSessionsRequest (`{"batch_id": ..., "sessions": [...]}`;
 * its batch_id is ignored, the client makes its own). Field names may be
 * lowerCamelCase or the proto's snake_case; enums names or numbers; int64
 * strings or numbers; bytes base64 — what the generated fromJSON accepts.
 */
export function sessionsFromJson(text: string): Session[] {
  const value: unknown = JSON.parse(text);
  const list = Array.isArray(value)
    ? value
    : value && typeof value === 'object' && Array.isArray((value as { sessions?: unknown }).sessions)
      ? (value as { sessions: unknown[] }).sessions
      : [value];
  return list.map((item, i) => {
    if (!item || typeof item !== 'object' || Array.isArray(item)) throw new Error(`sessions[${i}] is not a JSON object`);
    return Session.fromJSON(item);
  });
}
