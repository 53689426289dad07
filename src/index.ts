/**
 * Package entry of catsyphon-ingest: the client library, the generated wire
 * types (catsyphon.telemetry.v1) and the RetryInfo decoder.
 */
export * from './client';
export * from '../generated/catsyphon/telemetry/v1/sessions';
export {
  GetSessionRequest,
  GetSessionResponse,
  GetSessionStatusRequest,
  GetSessionStatusResponse,
  SessionQueryServiceClient,
  ThreadStatus,
} from '../generated/catsyphon/ingest/v1/query';
export { decodeStatusDetails, encodeRetryInfoDetails, type DecodedStatusDetails } from './grpc/retry-info';
