import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';

/**
 * google.rpc.Status carrying one google.rpc.RetryInfo, as sent in the
 * `grpc-status-details-bin` trailer. tonic (tonic-types), grpcio
 * (grpc_status) and grpc-js clients decode it with the standard protos:
 *
 *   Status    { int32 code = 1; string message = 2; repeated Any details = 3; }
 *   Any       { string type_url = 1; bytes value = 2; }
 *   RetryInfo { Duration retry_delay = 1; }
 *   Duration  { int64 seconds = 1; int32 nanos = 2; }
 */
export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

export function encodeRetryInfoDetails(code: number, message: string, retryDelayMs: number): Buffer {
  const delay = Math.max(0, Math.round(retryDelayMs));
  const duration = new BinaryWriter()
    .uint32(8)
    .int64(Math.floor(delay / 1000))
    .uint32(16)
    .int32((delay % 1000) * 1_000_000)
    .finish();
  const retryInfo = new BinaryWriter().uint32(10).bytes(duration).finish();
  const any = new BinaryWriter().uint32(10).string(RETRY_INFO_TYPE_URL).uint32(18).bytes(retryInfo).finish();
  const status = new BinaryWriter().uint32(8).int32(code).uint32(18).string(message).uint32(26).bytes(any).finish();
  return Buffer.from(status);
}

export interface DecodedStatusDetails {
  code: number;
  message: string;
  /** The RetryInfo delay in milliseconds, when the details carry one. */
  retryDelayMs?: number;
}

/** Decodes a `grpc-status-details-bin` value; used by the client and tests. */
export function decodeStatusDetails(bytes: Uint8Array): DecodedStatusDetails {
  const out: DecodedStatusDetails = { code: 0, message: '' };
  const status = new BinaryReader(bytes);
  while (status.pos < status.len) {
    const [field, wireType] = status.tag();
    if (field === 1) out.code = status.int32();
    else if (field === 2) out.message = status.string();
    else if (field === 3) {
      const any = new BinaryReader(status.bytes());
      let typeUrl = '';
      let value: Uint8Array = new Uint8Array();
      while (any.pos < any.len) {
        const [f, wt] = any.tag();
        if (f === 1) typeUrl = any.string();
        else if (f === 2) value = any.bytes();
        else any.skip(wt);
      }
      if (typeUrl === RETRY_INFO_TYPE_URL) out.retryDelayMs = decodeRetryDelay(value);
    } else status.skip(wireType);
  }
  return out;
}

function decodeRetryDelay(retryInfo: Uint8Array): number {
  const reader = new BinaryReader(retryInfo);
  let ms = 0;
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field !== 1) {
      reader.skip(wireType);
      continue;
    }
    const duration = new BinaryReader(reader.bytes());
    while (duration.pos < duration.len) {
      const [f, wt] = duration.tag();
      if (f === 1) ms += Number(duration.int64()) * 1000;
      else if (f === 2) ms += Math.round(duration.int32() / 1_000_000);
      else duration.skip(wt);
    }
  }
  return ms;
}
