import * as grpc from '@grpc/grpc-js';
import { IngestClient } from '../../src/client';
import { ExportSessionsResponse, type Session } from '../../generated/catsyphon/telemetry/v1/sessions';
import { summarize } from '../stats';
import {
  type BatchSession,
  encodeExportRequest,
  encodeGetSessionStatusRequest,
  EXPORT_SESSIONS_PATH,
  GET_SESSION_STATUS_PATH,
  SessionTemplate,
} from '../wire';
import { generateTemplates, messagesPerBatch, type WorkloadOptions } from '../workload';
import { ExportLogsServiceResponse } from '../../generated/opentelemetry/proto/collector/logs/v1/logs_service';
import { encodeLogsRequest, LOGS_EXPORT_PATH, OtlpSessionTemplate } from './otlp-wire';
import type { LoadInit, PhaseResult, PhaseSpec } from './protocol';

const passThrough = (b: Buffer): Buffer => b;
const BATCH_STATUS_ACCEPTED = 1;
const SESSION_STATUS_CREATED = 1;
const SMALL_MESSAGES = 10;

interface CallOutcome {
  readonly ok: boolean;
  readonly error?: string;
  readonly messages: number;
  readonly sessions: number;
}

const failed = (error: string): CallOutcome => ({ ok: false, error, messages: 0, sessions: 0 });
const grpcError = (err: grpc.ServiceError): CallOutcome => failed(`${grpc.status[err.code]}: ${err.details}`);

/** Drives the server over real gRPC with pre-encoded requests (see bench/wire.ts). */
export class LoadDriver {
  private readonly clients: grpc.Client[];
  private readonly metadata = new grpc.Metadata();
  private readonly templates: SessionTemplate[];
  /** The same sessions as OTLP log records (catsyphon.* dialect), built on first use. */
  private otlpTemplates: OtlpSessionTemplate[] | undefined;
  /** The decoded templates, for the library client. */
  private readonly templateSessions: Session[];
  /** One IngestClient per channel with `--client library`. */
  private readonly libraryClients: IngestClient[] = [];
  private readonly small: SessionTemplate;
  private readonly smallBatchId: string;
  private readonly smallSessionId: string;
  private sessionCounter = 0;
  private batchCounter = 0;
  private callCounter = 0;
  private replayReference: Buffer | undefined;

  constructor(private readonly init: LoadInit) {
    const options = { 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1 };
    this.clients = Array.from(
      { length: Math.max(1, init.channels) },
      // A distinct option per channel keeps grpc-js from sharing one connection.
      (_, i) => new grpc.Client(init.address, grpc.credentials.createInsecure(), { ...options, 'bench.channel': i }),
    );
    this.metadata.set('authorization', `Bearer ${init.token}`);
    this.templateSessions = generateTemplates(init.workload);
    this.templates = this.templateSessions.map((s) => new SessionTemplate(s));
    if (init.client === 'library') {
      for (let i = 0; i < Math.max(1, init.channels); i++) {
        this.libraryClients.push(
          new IngestClient({
            address: init.address,
            apiKey: init.token,
            deadlineMs: 120_000,
            // No retries: a failed call must show up as an error, not as a slower success.
            retry: { maxAttempts: 1 },
            channelOptions: { 'bench.channel': i },
          }),
        );
      }
    }
    const smallWorkload: WorkloadOptions = {
      ...init.workload,
      threadsPerSession: 1,
      messagesPerThread: SMALL_MESSAGES,
      templateSessions: 1,
      seed: init.workload.seed + 1,
    };
    this.small = new SessionTemplate(generateTemplates(smallWorkload)[0]);
    this.smallBatchId = `replay-${init.runId}`;
    this.smallSessionId = `small-${init.runId}`;
  }

  get messagesPerBatch(): number {
    return messagesPerBatch(this.init.workload);
  }

  /** A fresh batch: new batch id, new session ids, templates rotated. */
  /** The next batch's sessions: a fresh id each, templates rotated (index into templates). */
  private nextSessions(): { template: number; id: string }[] {
    return Array.from({ length: this.init.workload.sessionsPerBatch }, () => {
      const n = this.sessionCounter++;
      return { template: n % this.templates.length, id: `bench-${this.init.runId}-${n}` };
    });
  }

  nextBatch(): Buffer {
    const sessions: BatchSession[] = this.nextSessions().map(({ template, id }) => ({ template: this.templates[template], id }));
    return encodeExportRequest(`batch-${this.init.runId}-${this.batchCounter++}`, sessions);
  }

  smallBatch(): Buffer {
    return encodeExportRequest(this.smallBatchId, [{ template: this.small, id: this.smallSessionId }]);
  }

  private call(path: string, request: Buffer, deadlineMs = 120_000): Promise<{ err: grpc.ServiceError | null; res?: Buffer }> {
    const client = this.clients[this.callCounter++ % this.clients.length];
    return new Promise((resolve) => {
      client.makeUnaryRequest(path, passThrough, passThrough, request, this.metadata, { deadline: Date.now() + deadlineMs }, (err, res) =>
        resolve({ err, res }),
      );
    });
  }

  /** One batch through the project's client library: it sizes, encodes and sends the sessions itself. */
  private async ingestWithLibrary(): Promise<CallOutcome> {
    const sessions: Session[] = this.nextSessions().map(({ template, id }) => ({ ...this.templateSessions[template], id }));
    const client = this.libraryClients[this.callCounter++ % this.libraryClients.length];
    const report = await client.exportSessions(sessions);
    const { sessionsPerBatch } = this.init.workload;
    if (report.batches.length !== 1) return failed(`the client split the batch into ${report.batches.length} requests`);
    if (report.counts.created !== sessionsPerBatch) {
      const failure = report.results.find((r) => r.error)?.error;
      return failed(`${report.counts.created}/${sessionsPerBatch} created${failure ? `: ${failure.code} ${failure.message}` : ''}`);
    }
    return { ok: true, messages: this.messagesPerBatch, sessions: sessionsPerBatch };
  }

  private async ingestOnce(): Promise<CallOutcome> {
    if (this.libraryClients.length > 0) return this.ingestWithLibrary();
    const { err, res } = await this.call(EXPORT_SESSIONS_PATH, this.nextBatch());
    if (err) return grpcError(err);
    const { sessionsPerBatch } = this.init.workload;
    const response = ExportSessionsResponse.decode(res!);
    const created = response.results.filter((r) => r.status === SESSION_STATUS_CREATED).length;
    if (response.status !== BATCH_STATUS_ACCEPTED || created !== sessionsPerBatch) {
      const failure = response.results.find((r) => r.error)?.error;
      const why = failure ? `: ${failure.message} (${failure.field})` : '';
      return failed(`batch status ${response.status}, ${created}/${sessionsPerBatch} created${why}`);
    }
    return { ok: true, messages: this.messagesPerBatch, sessions: sessionsPerBatch };
  }

  /** The next batch's sessions as one OTLP logs export: one record per message, fresh session ids. */
  nextLogsRequest(): Buffer {
    this.otlpTemplates ??= this.templateSessions.map((s) => new OtlpSessionTemplate(s));
    const templates = this.otlpTemplates;
    return encodeLogsRequest(this.nextSessions().map(({ template, id }) => ({ template: templates[template], id: `otlp-${id}` })));
  }

  /** One OTLP LogsService/Export: every record must be accepted (partial_success unset). */
  private async otlpOnce(): Promise<CallOutcome> {
    const { err, res } = await this.call(LOGS_EXPORT_PATH, this.nextLogsRequest());
    if (err) return grpcError(err);
    const response = ExportLogsServiceResponse.decode(res!);
    if (response.partialSuccess) {
      return failed(`${response.partialSuccess.rejectedLogRecords} records rejected: ${response.partialSuccess.errorMessage}`);
    }
    return { ok: true, messages: this.messagesPerBatch, sessions: this.init.workload.sessionsPerBatch };
  }

  /** Sends the small batch once so later calls replay it; remembers the replayed bytes. */
  private async primeReplay(): Promise<string[]> {
    const notes: string[] = [];
    const first = await this.call(EXPORT_SESSIONS_PATH, this.smallBatch());
    if (first.err) throw new Error(`priming the replay batch failed: ${first.err.message}`);
    const second = await this.call(EXPORT_SESSIONS_PATH, this.smallBatch());
    if (second.err) throw new Error(`replaying the small batch failed: ${second.err.message}`);
    if (!second.res!.equals(first.res!)) notes.push('the first replay differs from the original response bytes');
    this.replayReference = second.res!;
    return notes;
  }

  private async replayOnce(): Promise<CallOutcome> {
    const { err, res } = await this.call(EXPORT_SESSIONS_PATH, this.smallBatch());
    if (err) return grpcError(err);
    if (!res!.equals(this.replayReference!)) return failed('replayed response bytes differ');
    return { ok: true, messages: SMALL_MESSAGES, sessions: 1 };
  }

  private async authOnce(): Promise<CallOutcome> {
    if (this.init.authCall === 'session-status') {
      const { err } = await this.call(GET_SESSION_STATUS_PATH, encodeGetSessionStatusRequest(this.smallSessionId, 1));
      return err ? grpcError(err) : { ok: true, messages: 0, sessions: 0 };
    }
    // An ExportSessions without batch_id: authenticated, then refused before any database work.
    const { err } = await this.call(EXPORT_SESSIONS_PATH, Buffer.alloc(0));
    if (err?.code === grpc.status.INVALID_ARGUMENT) return { ok: true, messages: 0, sessions: 0 };
    return err ? grpcError(err) : failed('expected INVALID_ARGUMENT, got OK');
  }

  /**
   * Keeps `concurrency` calls in flight for warmup + duration. Only calls that
   * complete inside the measuring window count. The hooks fire when the
   * window opens and closes, so the orchestrator can read server CPU then.
   */
  async runPhase(spec: PhaseSpec, hooks: { windowStart(): void; windowEnd(): void }): Promise<PhaseResult> {
    const notes: string[] = [];
    if ((spec.type === 'replay' || spec.type === 'auth') && !this.replayReference) {
      try {
        notes.push(...(await this.primeReplay()));
      } catch (err) {
        hooks.windowStart();
        hooks.windowEnd();
        const empty = summarize([]);
        return { spec, calls: 0, errors: 1, errorSamples: [(err as Error).message], messages: 0, sessions: 0, windowMs: spec.durationMs, latencyMs: empty, notes };
      }
    }
    const once =
      spec.type === 'ingest'
        ? () => this.ingestOnce()
        : spec.type === 'otlp'
          ? () => this.otlpOnce()
          : spec.type === 'replay'
            ? () => this.replayOnce()
            : () => this.authOnce();
    const latencies: number[] = [];
    const errorSamples = new Set<string>();
    let calls = 0;
    let errors = 0;
    let messages = 0;
    let sessions = 0;
    // The window opens after the warm-up and closes after `durationMs`, but
    // not before `minCalls` calls completed in it (slow servers, quick mode).
    const minCalls = spec.minCalls ?? 1;
    const t0 = performance.now();
    let windowStart = Infinity;
    let windowEnd = Infinity;
    let state: 'warmup' | 'measuring' | 'closed' = 'warmup';
    const close = () => {
      if (state !== 'measuring') return;
      state = 'closed';
      windowEnd = performance.now();
      hooks.windowEnd();
    };
    const startTimer = setTimeout(() => {
      state = 'measuring';
      windowStart = performance.now();
      hooks.windowStart();
    }, spec.warmupMs);
    const endTimer = setTimeout(() => {
      if (calls >= minCalls) close();
    }, spec.warmupMs + spec.durationMs);
    const worker = async () => {
      while (state !== 'closed') {
        const started = performance.now();
        const outcome = await once();
        const ended = performance.now();
        if (state !== 'measuring') continue;
        calls++;
        if (!outcome.ok) {
          errors++;
          if (errorSamples.size < 5) errorSamples.add(outcome.error ?? 'error');
        } else {
          latencies.push(ended - started);
          messages += outcome.messages;
          sessions += outcome.sessions;
        }
        if (calls >= minCalls && ended - t0 >= spec.warmupMs + spec.durationMs) close();
      }
    };
    await Promise.all(Array.from({ length: spec.concurrency }, worker));
    clearTimeout(startTimer);
    clearTimeout(endTimer);
    return {
      spec,
      calls,
      errors,
      errorSamples: [...errorSamples],
      messages,
      sessions,
      windowMs: windowEnd - windowStart,
      latencyMs: summarize(latencies),
      notes,
    };
  }

  close(): void {
    for (const c of this.clients) c.close();
    for (const c of this.libraryClients) c.close();
  }
}
