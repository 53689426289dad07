import type { SessionStatus } from '../../generated/catsyphon/telemetry/v1/sessions';

/**
 * Why a call was refused before it reached a handler. A closed list, so the
 * `reason` label of the auth-failure counter stays bounded.
 */
export const AUTH_FAILURE_REASONS = [
  'missing', // no authorization metadata
  'malformed', // not `Bearer cs_live_...`
  'unknown', // no such key, or the secret does not match
  'revoked', // the collector was revoked (is_active = false)
  'expired', // past expires_at
  'throttled', // too many failed attempts from this peer
  'workspace_mismatch', // CollectorInfo names another workspace or collector
] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

/** Which per-collector limit refused a call. */
export const RATE_LIMIT_KINDS = ['requests', 'messages'] as const;
export type RateLimitKind = (typeof RATE_LIMIT_KINDS)[number];

/**
 * What the ingestion, auth and protection code reports. Counters only; the
 * RPC count, latency and request bytes come from the RpcObserver (no call
 * site needed), gauges (work in flight, database pool) are read at scrape time. No method takes a collector or a
 * workspace: their number is unbounded, so they never become labels (the
 * per-RPC log line carries the collector instead).
 */
export interface IngestMetrics {
  /** One entry per session of an ExportSessions/ExportSessionsStream response. */
  recordSessionResults(statuses: readonly SessionStatus[]): void;
  /** Messages stored (new rows), after deduplication. */
  addMessagesIngested(count: number): void;
  authFailure(reason: AuthFailureReason): void;
  rateLimited(kind: RateLimitKind): void;
  /** A retried batch answered from the idempotency record. */
  idempotentReplay(): void;
  /** A call refused with UNAVAILABLE because the in-flight or buffered-messages cap was reached. */
  overloaded(): void;
  /** OTLP log records of one export: accepted (stored or already stored) and rejected (partial_success). */
  otlpLogRecords(accepted: number, rejected: number): void;
  /** One OTLP/HTTP request, by the HTTP status it was answered with. */
  otlpHttpRequest(status: number): void;
}

/** Does nothing: for tests and for code running without a metrics endpoint. */
export const noopIngestMetrics: IngestMetrics = {
  recordSessionResults: () => undefined,
  addMessagesIngested: () => undefined,
  authFailure: () => undefined,
  rateLimited: () => undefined,
  idempotentReplay: () => undefined,
  overloaded: () => undefined,
  otlpLogRecords: () => undefined,
  otlpHttpRequest: () => undefined,
};
