import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { encodeRetryInfoDetails, RETRY_INFO_TYPE_URL } from '../grpc/retry-info';
import {
  ExportLogsServiceRequest,
  ExportLogsServiceResponse,
} from '../../generated/opentelemetry/proto/collector/logs/v1/logs_service';

const gunzipAsync = promisify(gunzip);

export type OtlpContentType = 'protobuf' | 'json';

/** Why a body could not be read: an HTTP status and a message for the google.rpc.Status. */
export class BodyError extends Error {
  constructor(readonly httpStatus: number, message: string) {
    super(message);
  }
}

/** `application/x-protobuf` or `application/json` (parameters ignored); undefined for anything else. */
export function contentTypeOf(header: string | undefined): OtlpContentType | undefined {
  const type = (header ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  return undefined;
}

/** Undoes `Content-Encoding: gzip` (or none), never producing more than `maxBytes`. */
export async function decompress(body: Buffer, encoding: string | undefined, maxBytes: number): Promise<Buffer> {
  const e = (encoding ?? '').trim().toLowerCase();
  if (e === '' || e === 'identity') return body;
  if (e !== 'gzip') throw new BodyError(415, `Content-Encoding ${JSON.stringify(encoding)} is not supported; use gzip or none`);
  try {
    return await gunzipAsync(body, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new BodyError(413, `request is larger than ${maxBytes} bytes once decompressed (MAX_RECEIVE_MESSAGE_BYTES)`);
    }
    throw new BodyError(400, `request body is not valid gzip: ${(err as Error).message}`);
  }
}

const HEX = /^[0-9a-fA-F]*$/;

/**
 * OTLP/JSON differs from the protobuf JSON mapping in one place: trace and
 * span ids are hex, not base64. Rewrites them (in place) so the generated
 * fromJSON can read the rest; an id that is not hex is a 400.
 */
function hexIdsToBase64(json: unknown): void {
  const resourceLogs = (json as { resourceLogs?: unknown })?.resourceLogs;
  if (!Array.isArray(resourceLogs)) return;
  for (const rl of resourceLogs) {
    for (const sl of Array.isArray(rl?.scopeLogs) ? rl.scopeLogs : []) {
      for (const record of Array.isArray(sl?.logRecords) ? sl.logRecords : []) {
        for (const key of ['traceId', 'spanId', 'trace_id', 'span_id']) {
          const v = record?.[key];
          if (v === undefined || v === null || v === '') continue;
          if (typeof v !== 'string' || !HEX.test(v) || v.length % 2 !== 0) {
            throw new BodyError(400, `${key} must be a hex string (OTLP/JSON), got ${JSON.stringify(v)}`);
          }
          record[key] = Buffer.from(v, 'hex').toString('base64');
        }
      }
    }
  }
}

/** Decodes an OTLP logs request from protobuf or OTLP/JSON (unknown fields are ignored). */
export function decodeRequest(body: Buffer, type: OtlpContentType): ExportLogsServiceRequest {
  if (type === 'protobuf') {
    try {
      return ExportLogsServiceRequest.decode(body);
    } catch (err) {
      throw new BodyError(400, `request is not a valid ExportLogsServiceRequest: ${(err as Error).message}`);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new BodyError(400, `request is not valid JSON: ${(err as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new BodyError(400, 'request must be a JSON object (ExportLogsServiceRequest)');
  }
  hexIdsToBase64(json);
  try {
    return ExportLogsServiceRequest.fromJSON(json);
  } catch (err) {
    throw new BodyError(400, `request is not a valid ExportLogsServiceRequest: ${(err as Error).message}`);
  }
}

/** The response in the request's encoding; partial_success is absent on full success. */
export function encodeResponse(response: ExportLogsServiceResponse, type: OtlpContentType): Buffer {
  if (type === 'protobuf') return Buffer.from(ExportLogsServiceResponse.encode(response).finish());
  return Buffer.from(JSON.stringify(ExportLogsServiceResponse.toJSON(response)), 'utf8');
}

/** A google.rpc.Status (code, message, optional RetryInfo) in the request's encoding. */
export function encodeStatus(code: number, message: string, retryDelayMs: number | undefined, type: OtlpContentType): Buffer {
  if (type === 'json') {
    const details =
      retryDelayMs === undefined ? [] : [{ '@type': RETRY_INFO_TYPE_URL, retryDelay: `${(retryDelayMs / 1000).toFixed(3).replace(/\.?0+$/, '')}s` }];
    return Buffer.from(JSON.stringify({ code, message, details }), 'utf8');
  }
  if (retryDelayMs !== undefined) return encodeRetryInfoDetails(code, message, retryDelayMs);
  return Buffer.from(new BinaryWriter().uint32(8).int32(code).uint32(18).string(message).finish());
}
