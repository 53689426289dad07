import * as grpc from '@grpc/grpc-js';
import { encodeRetryInfoDetails } from '../../src/grpc/retry-info';
import {
  BatchStatus,
  type CollectorInfo,
  type ExportSessionsRequest,
  type ExportSessionsResponse,
  type Session,
  type SessionBatch,
  SessionIngestionClient,
  SessionIngestionService,
  SessionStatus,
} from '../../generated/catsyphon/telemetry/v1/sessions';

/** One injected failure: a status, optionally with RetryInfo, optionally after storing the batch. */
export interface Fault {
  readonly code: grpc.status;
  readonly retryDelayMs?: number;
  /** Store the batch first, then fail: the answer is "lost" on the way back. */
  readonly afterProcessing?: boolean;
  /** Never answer: the client's deadline expires. */
  readonly hang?: boolean;
}

/** What the server saw on one call. */
export interface SeenCall {
  readonly method: 'unary' | 'stream';
  readonly batchId: string;
  readonly sessionIds: string[];
  readonly chunks: number;
  readonly authorization: string | undefined;
  readonly bytes: number;
}

/**
 * A real grpc-js server on 127.0.0.1:0 implementing SessionIngestion from
 * the generated definition. It fails the first calls as scripted, records
 * every call, stores sessions in memory and replays the first answer for a
 * batch id it already completed (like the real server's idempotency).
 */
export class FaultServer {
  readonly calls: SeenCall[] = [];
  /** How many times each session id was stored (a replay stores nothing). */
  readonly stored = new Map<string, number>();
  private readonly completed = new Map<string, ExportSessionsResponse>();
  private faults: Fault[] = [];
  private readonly server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  private readonly hung: Array<() => void> = [];
  private readonly upstream?: SessionIngestionClient;
  port = 0;

  /** With `forwardTo`, calls that get past the faults are forwarded to that server (a lossy proxy). */
  constructor(options: { forwardTo?: string } = {}) {
    if (options.forwardTo) this.upstream = new SessionIngestionClient(options.forwardTo, grpc.credentials.createInsecure());
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The next calls fail like this, in order; later calls succeed. */
  failNext(...faults: Fault[]): void {
    this.faults.push(...faults);
  }

  reset(): void {
    this.calls.length = 0;
    this.faults = [];
    this.stored.clear();
    this.completed.clear();
  }

  /** Starts on 127.0.0.1:0, plaintext or with TLS (optionally requiring a client certificate). */
  async start(tls?: { ca: Buffer; cert: Buffer; key: Buffer; requireClientCert?: boolean }): Promise<this> {
    this.server.addService(SessionIngestionService, {
      exportSessions: (call: grpc.ServerUnaryCall<ExportSessionsRequest, ExportSessionsResponse>, done: grpc.sendUnaryData<ExportSessionsResponse>) => {
        const req = call.request;
        const bytes = SessionIngestionService.exportSessions.requestSerialize(req).length;
        this.handle('unary', req.batchId, req.sessions, 1, call.metadata, bytes, done, req.collector);
      },
      exportSessionsStream: (call: grpc.ServerReadableStream<SessionBatch, ExportSessionsResponse>, done: grpc.sendUnaryData<ExportSessionsResponse>) => {
        const sessions: Session[] = [];
        let chunks = 0;
        let bytes = 0;
        call.on('data', (batch: SessionBatch) => {
          chunks++;
          bytes += SessionIngestionService.exportSessionsStream.requestSerialize(batch).length;
          sessions.push(...batch.sessions);
        });
        call.on('end', () => {
          const batchId = String(call.metadata.get('x-batch-id')[0] ?? '');
          this.handle('stream', batchId, sessions, chunks, call.metadata, bytes, done);
        });
      },
    });
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(
        '127.0.0.1:0',
        tls
          ? grpc.ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], !!tls.requireClientCert)
          : grpc.ServerCredentials.createInsecure(),
        (err, port) => (err ? reject(err) : resolve(port)),
      ),
    );
    return this;
  }

  private handle(
    method: SeenCall['method'],
    batchId: string,
    sessions: Session[],
    chunks: number,
    metadata: grpc.Metadata,
    bytes: number,
    done: grpc.sendUnaryData<ExportSessionsResponse>,
    collector?: CollectorInfo,
  ): void {
    const authorization = metadata.get('authorization')[0];
    this.calls.push({
      method,
      batchId,
      sessionIds: sessions.map((s) => s.id),
      chunks,
      authorization: authorization === undefined ? undefined : String(authorization),
      bytes,
    });
    const fault = this.faults.shift();
    if (fault?.hang) {
      this.hung.push(() => done({ code: grpc.status.UNAVAILABLE, details: 'released' }));
      return;
    }
    if (fault && !fault.afterProcessing) return done(this.statusFor(fault));
    if (this.upstream) {
      void this.forward(method, batchId, sessions, metadata, collector).then(
        (response) => (fault ? done(this.statusFor(fault)) : done(null, response)),
        (err: grpc.ServiceError) => done(err),
      );
      return;
    }
    const response = this.process(batchId, sessions);
    if (fault) return done(this.statusFor(fault));
    done(null, response);
  }

  private forward(
    method: SeenCall['method'],
    batchId: string,
    sessions: Session[],
    incoming: grpc.Metadata,
    collector?: CollectorInfo,
  ): Promise<ExportSessionsResponse> {
    const upstream = this.upstream as SessionIngestionClient;
    const metadata = new grpc.Metadata();
    for (const key of ['authorization', 'x-batch-id']) {
      const [value] = incoming.get(key);
      if (value !== undefined) metadata.set(key, value);
    }
    return new Promise((resolve, reject) => {
      const callback = (err: grpc.ServiceError | null, res: ExportSessionsResponse) => (err ? reject(err) : resolve(res));
      if (method === 'unary') {
        upstream.exportSessions({ collector, batchId, sessions }, metadata, callback);
      } else {
        const call = upstream.exportSessionsStream(metadata, callback);
        call.write({ sessions });
        call.end();
      }
    });
  }

  private statusFor(fault: Fault): Partial<grpc.StatusObject> {
    const details = `injected ${grpc.status[fault.code]}`;
    const metadata = new grpc.Metadata();
    if (fault.retryDelayMs !== undefined) {
      metadata.set('grpc-status-details-bin', encodeRetryInfoDetails(fault.code, details, fault.retryDelayMs));
    }
    return { code: fault.code, details, metadata };
  }

  /** Stores new sessions once per batch id; a known batch id replays its answer. */
  private process(batchId: string, sessions: Session[]): ExportSessionsResponse {
    const replay = this.completed.get(batchId);
    if (replay) return replay;
    const results = sessions.map((s) => {
      const seen = this.stored.get(s.id) ?? 0;
      this.stored.set(s.id, seen + 1);
      const messages = s.threads.reduce((n, t) => n + t.messages.length, 0);
      return {
        sessionId: s.id,
        catsyphonId: `cs-${s.id}`,
        status: seen === 0 ? SessionStatus.SESSION_STATUS_CREATED : SessionStatus.SESSION_STATUS_DUPLICATE,
        messagesIngested: seen === 0 ? messages : 0,
        threadsIngested: seen === 0 ? s.threads.length : 0,
      };
    });
    const response: ExportSessionsResponse = { batchId, status: BatchStatus.BATCH_STATUS_ACCEPTED, results };
    this.completed.set(batchId, response);
    return response;
  }

  async stop(): Promise<void> {
    this.upstream?.close();
    for (const release of this.hung.splice(0)) release();
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }
}
