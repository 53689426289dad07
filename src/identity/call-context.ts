import type { Logger } from '../logging/logger';
import type { Caller, RequestHeaders } from './caller';

/**
 * What a handler learns about its call besides the request, independent of
 * the transport that carried it (src/grpc/rpc.ts builds it for gRPC calls).
 */
export interface CallContext {
  readonly method: string;
  readonly requestId: string;
  readonly logger: Logger;
  readonly metadata: RequestHeaders;
  readonly peer: string;
  readonly caller: Caller;
  /** Aborted when the client cancels or the deadline passes. */
  readonly signal: AbortSignal;
}

/** An async handler of one request. */
export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res>;
/** An async handler of a client stream, read on demand. */
export type ClientStreamHandler<Req, Res> = (stream: AsyncIterable<Req>, ctx: CallContext) => Promise<Res>;
