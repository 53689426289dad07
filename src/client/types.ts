import type * as grpc from '@grpc/grpc-js';
import type { CollectorInfo } from '../../generated/catsyphon/telemetry/v1/sessions';
import type { BatchLimits } from './batching';
import type { RetryEnv, RetryEvent, RetryOptions } from './retry';

/** TLS settings; PEM buffers. Without `ca` the system roots are used. */
export interface TlsOptions {
  readonly ca?: Buffer;
  /** Client certificate chain and key, for servers that require mutual TLS. */
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Overrides the name checked against the server certificate (tests, IP addresses). */
  readonly serverNameOverride?: string;
}

export interface IngestClientOptions {
  /** `host:port` of the server. */
  readonly address: string;
  /** Sent as `authorization: Bearer <apiKey>` on every call. */
  readonly apiKey?: string;
  /** `true` for TLS with the system roots, an object for a CA or client certificate; plaintext otherwise. */
  readonly tls?: boolean | TlsOptions;
  /** Batch limits; default 1000 sessions and 4 MiB per request. */
  readonly limits?: Partial<BatchLimits>;
  /** Sessions per SessionBatch chunk on the stream (default 100). */
  readonly streamChunkSessions?: number;
  readonly retry?: Partial<RetryOptions>;
  /**
   * `app` (default): the client retries itself, honouring the server's
   * RetryInfo. `channel`: grpc-js retries through the service config
   * retryPolicy (same codes; RetryInfo is not read, at most 5 attempts).
   */
  readonly retryMode?: 'app' | 'channel';
  /** Deadline of one attempt of a unary call (default 30 s). */
  readonly deadlineMs?: number;
  /** Deadline of one attempt of a stream (default 5 min). */
  readonly streamDeadlineMs?: number;
  /** Batches in flight at once (default 1). */
  readonly concurrency?: number;
  /** Sent as ExportSessionsRequest.collector; type/version/hostname get defaults. */
  readonly collector?: Partial<CollectorInfo>;
  /** Injectable sleep and randomness (tests). */
  readonly retryEnv?: Partial<RetryEnv>;
  /** Makes batch ids (default crypto.randomUUID). */
  readonly newBatchId?: () => string;
  readonly onRetry?: (event: RetryEvent & { readonly batchId: string }) => void;
  /** Called once per finished batch (progress bars). */
  readonly onBatch?: (report: BatchReport) => void;
  /** Extra grpc-js channel options. */
  readonly channelOptions?: grpc.ChannelOptions;
}

export type OutcomeStatus = 'created' | 'updated' | 'duplicate' | 'failed';

/** What happened to one input session. */
export interface SessionOutcome {
  /** Position of the session in the caller's input. */
  readonly index: number;
  readonly sessionId: string;
  readonly status: OutcomeStatus;
  /** The batch it was sent in; undefined when it was never sent. */
  readonly batchId: string | undefined;
  readonly catsyphonId: string | undefined;
  readonly messagesIngested: number;
  readonly threadsIngested: number;
  /**
   * Why it failed. `server`: the server rejected the session (code is an
   * ErrorCode name); `rpc`: the whole call failed (code is a gRPC status
   * name); `client`: it was never sent (code TOO_LARGE) or got no result.
   */
  readonly error?: {
    readonly source: 'server' | 'rpc' | 'client';
    readonly code: string;
    readonly message: string;
    readonly field?: string;
  };
}

/** One batch (or one stream) as sent. */
export interface BatchReport {
  readonly batchId: string;
  readonly sessions: number;
  readonly bytes: number;
  readonly attempts: number;
  /** BatchStatus name from the server, when it answered. */
  readonly status?: string;
  /** The gRPC failure of the last attempt, when the call failed. */
  readonly error?: { readonly code: string; readonly message: string };
}

export interface ExportReport {
  /** One per input session, in input order. */
  readonly results: SessionOutcome[];
  readonly batches: BatchReport[];
  readonly counts: Record<OutcomeStatus, number>;
}

export interface CallOptions {
  /** Overrides the client's per-attempt deadline for this export. */
  readonly deadlineMs?: number;
}
