import type { LatencySummary } from '../stats';
import type { WorkloadOptions } from '../workload';

/** Messages between the orchestrator (bench/run) and the forked load client. */

export type PhaseType = 'ingest' | 'replay' | 'auth' | 'otlp';

export interface PhaseSpec {
  readonly type: PhaseType;
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** The window stays open until at least this many calls completed in it (default 1). */
  readonly minCalls?: number;
}

export type AuthCallKind = 'session-status' | 'invalid-export';

export interface LoadInit {
  readonly kind: 'init';
  readonly address: string;
  readonly token: string;
  readonly runId: string;
  readonly workload: WorkloadOptions;
  readonly channels: number;
  /** Which small call measures authentication: GetSessionStatus or an ExportSessions refused as invalid. */
  readonly authCall: AuthCallKind;
  /**
   * How ingest batches are sent: `raw`, pre-encoded bytes (the client costs almost no CPU), or
   * `library`, the project's IngestClient (src/client) encoding Session objects as a collector would.
   */
  readonly client: LoadClientKind;
}

export type LoadClientKind = 'raw' | 'library';

export type ToClient = LoadInit | { readonly kind: 'phase'; readonly spec: PhaseSpec } | { readonly kind: 'exit' };

export interface PhaseResult {
  readonly spec: PhaseSpec;
  /** Calls completed inside the measuring window. */
  readonly calls: number;
  readonly errors: number;
  /** A few distinct error messages, for the report. */
  readonly errorSamples: readonly string[];
  readonly messages: number;
  readonly sessions: number;
  readonly windowMs: number;
  readonly latencyMs: LatencySummary;
  /** Anything odd worth printing (for example a replay that differs from the first response). */
  readonly notes: readonly string[];
}

export interface ClientReady {
  readonly kind: 'ready';
  readonly requestBytes: number;
  readonly messagesPerBatch: number;
  readonly sessionsPerBatch: number;
  readonly smallRequestBytes: number;
}

export type FromClient =
  | ClientReady
  | { readonly kind: 'window-start' }
  | { readonly kind: 'window-end' }
  | { readonly kind: 'result'; readonly result: PhaseResult }
  | { readonly kind: 'error'; readonly message: string };
