import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import {
  CollectorInfo,
  type ExportSessionsResponse,
  type Session,
  SessionIngestionClient,
  SessionIngestionService,
} from '../../generated/catsyphon/telemetry/v1/sessions';
import { type BatchLimits, encodeRequest, fieldBytes, type PlannedBatch, planBatches } from './batching';
import { channelCredentials, channelOptions } from './channel';
import { batchReport, buildReport, failedOutcome, matchResults, rpcFailure } from './results';
import { DEFAULT_RETRY, type RetryEnv, type RetryOptions, type RetryOutcome, realRetryEnv, withRetries } from './retry';
import type { BatchReport, CallOptions, ExportReport, IngestClientOptions, SessionOutcome } from './types';

export const CLIENT_TYPE = 'catsyphon-ingest-client';
export const CLIENT_VERSION = '0.1.0';
export const DEFAULT_LIMITS: BatchLimits = Object.freeze({ maxSessions: 1000, maxBytes: 4 * 1024 * 1024 });

/** Bytes of a request's batch_id field (a UUID is 36 characters). */
const BATCH_ID_BYTES = fieldBytes(128);

/**
 * A client for SessionIngestion that batches, retries safely (the same
 * batch_id on every attempt of a batch) and reports per session.
 */
export class IngestClient {
  readonly limits: BatchLimits;
  readonly retry: RetryOptions;
  private readonly stub: SessionIngestionClient;
  private readonly env: RetryEnv;
  private readonly collector: CollectorInfo;
  private readonly newBatchId: () => string;

  constructor(private readonly options: IngestClientOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.env = { ...realRetryEnv, ...options.retryEnv };
    this.newBatchId = options.newBatchId ?? randomUUID;
    this.collector = CollectorInfo.fromPartial({
      type: CLIENT_TYPE,
      version: CLIENT_VERSION,
      hostname: hostname(),
      ...options.collector,
    });
    const mode = options.retryMode ?? 'app';
    this.stub = new SessionIngestionClient(
      options.address,
      channelCredentials(options.tls),
      channelOptions(options.tls, this.limits.maxBytes, this.retry, mode, options.channelOptions),
    );
  }

  /** Closes the channel. */
  close(): void {
    this.stub.close();
  }

  /** The retry settings the app applies itself (none in channel mode: grpc-js does it). */
  private get appRetry(): RetryOptions {
    return this.options.retryMode === 'channel' ? { ...this.retry, maxAttempts: 1 } : this.retry;
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.options.apiKey) md.set('authorization', `Bearer ${this.options.apiKey}`);
    return md;
  }

  private overheadBytes(): number {
    return BATCH_ID_BYTES + fieldBytes(CollectorInfo.encode(this.collector).finish().length);
  }

  /**
   * Sends the sessions in as many unary ExportSessions calls as the limits
   * require and returns one outcome per session, in input order. A session
   * that alone exceeds the size limit is reported failed (TOO_LARGE) and
   * never sent. Failed calls do not throw: their sessions are reported failed.
   */
  async exportSessions(sessions: readonly Session[], call: CallOptions = {}): Promise<ExportReport> {
    const plan = planBatches(sessions, this.limits, this.overheadBytes());
    const results: SessionOutcome[] = this.oversized(sessions, plan.oversized);
    const batches: BatchReport[] = [];
    await this.pool(plan.batches, async (batch) => {
      const { outcomes, report } = await this.sendBatch(batch, call.deadlineMs ?? this.options.deadlineMs ?? 30_000);
      results.push(...outcomes);
      batches.push(report);
      this.options.onBatch?.(report);
    });
    return buildReport(results, batches);
  }

  private async sendBatch(batch: PlannedBatch, deadlineMs: number) {
    const batchId = this.newBatchId();
    // Encoded once: every attempt sends the same bytes.
    const request = encodeRequest(this.collector, batchId, batch.encoded);
    const outcome = await withRetries(
      () => this.unary(request, deadlineMs),
      this.appRetry,
      this.env,
      (event) => this.options.onRetry?.({ ...event, batchId }),
    );
    // The plan reserved room for a 128-character id; report the exact size.
    const bytes = batch.bytes - BATCH_ID_BYTES + fieldBytes(Buffer.byteLength(batchId));
    return this.settle({ ...batch, bytes }, batchId, outcome);
  }

  private settle(
    batch: PlannedBatch,
    batchId: string,
    outcome: RetryOutcome<ExportSessionsResponse>,
  ): { outcomes: SessionOutcome[]; report: BatchReport } {
    if (outcome.kind === 'done') {
      return {
        outcomes: matchResults(batch.indexes, batch.sessions, batchId, outcome.value),
        report: batchReport(batchId, batch.sessions.length, batch.bytes, outcome.attempts, { response: outcome.value }),
      };
    }
    const error = rpcFailure(outcome.error);
    return {
      outcomes: batch.sessions.map((s, i) => failedOutcome(batch.indexes[i], s, batchId, error)),
      report: batchReport(batchId, batch.sessions.length, batch.bytes, outcome.attempts, { error: outcome.error }),
    };
  }

  private unary(request: Buffer, deadlineMs: number): Promise<ExportSessionsResponse> {
    const method = SessionIngestionService.exportSessions;
    return new Promise((resolve, reject) => {
      this.stub.makeUnaryRequest(
        method.path,
        (bytes: Buffer) => bytes,
        method.responseDeserialize,
        request,
        this.metadata(),
        { deadline: Date.now() + deadlineMs },
        (err, res) => (err ? reject(err) : resolve(res as ExportSessionsResponse)),
      );
    });
  }

  /**
   * Sends all sessions on one ExportSessionsStream call, in SessionBatch
   * chunks, under one batch id carried in `x-batch-id` metadata. A retry
   * re-sends the whole stream with the same `x-batch-id`, so the server can
   * replay its first answer instead of ingesting twice.
   */
  async exportSessionsStream(sessions: readonly Session[], call: CallOptions = {}): Promise<ExportReport> {
    const chunkLimits = { maxSessions: this.options.streamChunkSessions ?? 100, maxBytes: this.limits.maxBytes };
    const plan = planBatches(sessions, chunkLimits, 0);
    const results = this.oversized(sessions, plan.oversized);
    if (plan.batches.length === 0) return buildReport(results, []);
    const all: PlannedBatch = {
      indexes: plan.batches.flatMap((b) => b.indexes),
      sessions: plan.batches.flatMap((b) => b.sessions),
      encoded: [],
      bytes: plan.batches.reduce((n, b) => n + b.bytes, 0),
    };
    const batchId = this.newBatchId();
    const deadlineMs = call.deadlineMs ?? this.options.streamDeadlineMs ?? 300_000;
    const outcome = await withRetries(
      () => this.stream(batchId, plan.batches, deadlineMs),
      this.appRetry,
      this.env,
      (event) => this.options.onRetry?.({ ...event, batchId }),
    );
    const { outcomes, report } = this.settle(all, batchId, outcome);
    this.options.onBatch?.(report);
    return buildReport([...results, ...outcomes], [report]);
  }

  private stream(batchId: string, chunks: readonly PlannedBatch[], deadlineMs: number): Promise<ExportSessionsResponse> {
    return new Promise((resolve, reject) => {
      const md = this.metadata();
      md.set('x-batch-id', batchId);
      let finished = false;
      let wake: () => void = () => undefined;
      const call = this.stub.exportSessionsStream(md, { deadline: Date.now() + deadlineMs }, (err, res) => {
        finished = true;
        wake();
        if (err) reject(err);
        else resolve(res);
      });
      void (async () => {
        for (const chunk of chunks) {
          if (finished) return;
          if (!call.write({ sessions: chunk.sessions })) {
            // Backpressure: wait for the buffer to drain, or for the call to end.
            await new Promise<void>((resume) => {
              wake = resume;
              call.once('drain', resume);
            });
            call.removeAllListeners('drain');
          }
        }
        if (!finished) call.end();
      })();
    });
  }

  private oversized(sessions: readonly Session[], oversized: Array<{ index: number; bytes: number }>): SessionOutcome[] {
    return oversized.map(({ index, bytes }) =>
      failedOutcome(index, sessions[index], undefined, {
        source: 'client',
        code: 'TOO_LARGE',
        message: `session is ${bytes} bytes encoded, more than the ${this.limits.maxBytes}-byte request limit`,
      }),
    );
  }

  /** Runs `work` over the items with at most `concurrency` in flight. */
  private async pool<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const workers = Array.from({ length: Math.max(1, Math.min(this.options.concurrency ?? 1, items.length)) }, async () => {
      while (next < items.length) await work(items[next++]);
    });
    await Promise.all(workers);
  }
}
