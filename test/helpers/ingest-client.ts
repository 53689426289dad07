import * as grpc from '@grpc/grpc-js';
import {
  type ExportSessionsRequest,
  ExportSessionsRequest as RequestFns,
  ExportSessionsResponse,
  type Session,
  SessionBatch,
  SessionIngestionClient,
} from '../../generated/catsyphon/telemetry/v1/sessions';
import {
  type GetSessionResponse,
  type GetSessionStatusResponse,
  SessionQueryServiceClient,
} from '../../generated/catsyphon/ingest/v1/query';

/** Promise wrappers around the generated clients, authenticated with one token. */
export class IngestClient {
  readonly ingestion: SessionIngestionClient;
  readonly query: SessionQueryServiceClient;
  private readonly raw: grpc.Client;

  constructor(address: string, private readonly token: string) {
    this.ingestion = new SessionIngestionClient(address, grpc.credentials.createInsecure());
    this.query = new SessionQueryServiceClient(address, grpc.credentials.createInsecure());
    this.raw = new grpc.Client(address, grpc.credentials.createInsecure());
  }

  metadata(extra: Record<string, string> = {}): grpc.Metadata {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${this.token}`);
    for (const [k, v] of Object.entries(extra)) md.set(k, v);
    return md;
  }

  export(request: Partial<ExportSessionsRequest> & { sessions: Session[] }): Promise<ExportSessionsResponse> {
    const full: ExportSessionsRequest = { batchId: request.batchId ?? `b-${Math.random()}`, collector: request.collector, sessions: request.sessions };
    return new Promise((resolve, reject) =>
      this.ingestion.exportSessions(full, this.metadata(), (err, res) => (err ? reject(err) : resolve(res))),
    );
  }

  /** ExportSessions returning the response bytes exactly as received. */
  exportRaw(request: ExportSessionsRequest): Promise<Buffer> {
    return new Promise((resolve, reject) =>
      this.raw.makeUnaryRequest(
        '/catsyphon.telemetry.v1.SessionIngestion/ExportSessions',
        (r: ExportSessionsRequest) => Buffer.from(RequestFns.encode(r).finish()),
        (b: Buffer) => b,
        request,
        this.metadata(),
        (err, res) => (err ? reject(err) : resolve(res as Buffer)),
      ),
    );
  }

  /**
   * ExportSessionsStream fed from an iterable of chunks, honouring the
   * stream's backpressure (the next chunk is generated only when there is room).
   */
  stream(chunks: Iterable<Session[]>, batchId?: string): Promise<ExportSessionsResponse> {
    return new Promise((resolve, reject) => {
      const call = this.ingestion.exportSessionsStream(
        this.metadata(batchId ? { 'x-batch-id': batchId } : {}),
        (err, res) => (err ? reject(err) : resolve(res)),
      );
      const it = chunks[Symbol.iterator]();
      const pump = () => {
        for (;;) {
          const next = it.next();
          if (next.done) return call.end();
          if (!call.write(SessionBatch.fromPartial({ sessions: next.value }))) return call.once('drain', pump);
        }
      };
      call.on('error', () => undefined);
      pump();
    });
  }

  getSession(sessionId: string, assistant: number): Promise<GetSessionResponse> {
    return new Promise((resolve, reject) =>
      this.query.getSession({ sessionId, assistant }, this.metadata(), (err, res) => (err ? reject(err) : resolve(res))),
    );
  }

  getSessionStatus(sessionId: string, assistant: number): Promise<GetSessionStatusResponse> {
    return new Promise((resolve, reject) =>
      this.query.getSessionStatus({ sessionId, assistant }, this.metadata(), (err, res) =>
        err ? reject(err) : resolve(res),
      ),
    );
  }

  close(): void {
    this.ingestion.close();
    this.query.close();
    this.raw.close();
  }
}

export const decodeResponse = (bytes: Buffer) => ExportSessionsResponse.decode(bytes);
