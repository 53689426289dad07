import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { decodeStatusDetails } from '../grpc/retry-info';
import { InFlightCalls } from '../grpc/rpc';
import { type StatusPolicy, toServiceError } from '../grpc/status';
import { unavailable } from '../errors/domain-error';
import type { CallContext } from '../identity/call-context';
import type { Authenticator, RequestHeaders } from '../identity/caller';
import type { ReloadingCertificateProvider } from '../grpc/tls';
import type { Logger } from '../logging/logger';
import type { IngestMetrics } from '../metrics/ingest-metrics';
import type { Admission } from '../protect/admission';
import type { LogsExportHandler } from './logs-export.handler';
import { BodyError, contentTypeOf, decodeRequest, decompress, encodeResponse, encodeStatus, type OtlpContentType } from './otlp-http.codec';
import { UNSUPPORTED_SIGNALS, logsOnlyMessage } from './unsupported-signals';

export interface OtlpHttpOptions {
  readonly host: string;
  /** 0 picks a free port (tests); the app does not start this server when OTLP_HTTP_PORT is 0. */
  readonly port: number;
  /** Largest request body, compressed or not (MAX_RECEIVE_MESSAGE_BYTES, as on gRPC). */
  readonly maxBodyBytes: number;
  /** Retry-After for 503 answers of the server itself (draining, overloaded). */
  readonly retryDelayMs: number;
  readonly shutdownGraceMs: number;
}

export interface OtlpHttpDeps {
  readonly logger: Logger;
  readonly authenticator: Authenticator;
  readonly handler: LogsExportHandler;
  readonly metrics: IngestMetrics;
  /** Retry delays of errors that carry none (the same policy as gRPC's status mapping). */
  readonly statusPolicy: StatusPolicy;
  /** The concurrent-call cap shared with gRPC ingestion (MAX_CONCURRENT_INGESTIONS). */
  readonly admission?: Admission;
  /**
   * The gRPC server's certificates when TLS is on: OTLP/HTTP is then HTTPS
   * with the same certificate (and client CA for mTLS), reloaded with it.
   */
  readonly tls?: { readonly certificates: ReloadingCertificateProvider; readonly mtls: boolean };
}

export interface OtlpHttpServer {
  start(): Promise<number>;
  /** NOT_SERVING (new requests get 503), drain up to the grace period, close. */
  stop(): Promise<void>;
  readonly port: number;
}

/** gRPC code -> HTTP status for OTLP/HTTP answers (RESOURCE_EXHAUSTED: 429 when retryable, else 413). */
const HTTP_BY_GRPC: Partial<Record<grpc.status, number>> = {
  [grpc.status.INVALID_ARGUMENT]: 400,
  [grpc.status.FAILED_PRECONDITION]: 400,
  [grpc.status.OUT_OF_RANGE]: 400,
  [grpc.status.UNAUTHENTICATED]: 401,
  [grpc.status.PERMISSION_DENIED]: 403,
  [grpc.status.NOT_FOUND]: 404,
  [grpc.status.ALREADY_EXISTS]: 409,
  [grpc.status.ABORTED]: 503,
  [grpc.status.UNAVAILABLE]: 503,
  [grpc.status.DEADLINE_EXCEEDED]: 504,
  [grpc.status.UNIMPLEMENTED]: 404,
};

/** The HTTP status for a google.rpc.Status code. */
export function httpStatusOf(code: grpc.status, retryable: boolean): number {
  if (code === grpc.status.RESOURCE_EXHAUSTED) return retryable ? 429 : 413;
  return HTTP_BY_GRPC[code] ?? 500;
}

/** A refusal decided before or after the handler: google.rpc.Status code, message, retry delay. */
interface Refusal {
  readonly code: grpc.status;
  readonly message: string;
  readonly retryDelayMs?: number;
  /** Overrides the status derived from the code (413/415/405). */
  readonly httpStatus?: number;
}

/**
 * OTLP/HTTP on node:http: `POST /v1/logs` with application/x-protobuf or
 * application/json, optionally gzip, authenticated like gRPC (Authorization:
 * Bearer cs_live_…) and handled by the same export handler (same guard,
 * rate limits and ingest path). Answers follow the OTLP spec: 200 (also for
 * partial success), 400, 401, 403, 404, 405, 413, 415, 429/503 with
 * Retry-After; error bodies are google.rpc.Status in the request's encoding.
 */
export function createOtlpHttpServer(options: OtlpHttpOptions, deps: OtlpHttpDeps): OtlpHttpServer {
  const logger = deps.logger.child({ component: 'otlp-http' });
  const inFlight = new InFlightCalls();
  let serving = true;
  let port = -1;
  let stopping: Promise<void> | undefined;

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const leave = inFlight.enter();
    const started = process.hrtime.bigint();
    res.once('close', leave);
    // One line per request, like the `rpc` line of gRPC calls.
    res.once('finish', () => {
      const durationMs = Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100;
      logger.info({ method: req.method, path: req.url, status: res.statusCode, durationMs, peer: req.socket.remoteAddress }, 'otlp-http');
    });
    handle(req, res).catch((err: unknown) => {
      logger.error({ err }, 'OTLP/HTTP request failed unexpectedly');
      if (!res.headersSent) send(res, 'json', 500, { code: grpc.status.INTERNAL, message: 'internal error' });
      else res.destroy();
    });
  };
  const tls = deps.tls ? withCertificates(deps.tls, onRequest) : undefined;
  const server: Server | TlsServer = tls?.server ?? createServer(onRequest);
  server.keepAliveTimeout = 65_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const type = contentTypeOf(req.headers['content-type']) ?? 'json';
    const other = UNSUPPORTED_SIGNALS.find((s) => path === `/v1/${s.signal}`);
    if (other) return refuse(req, res, type, { code: grpc.status.UNIMPLEMENTED, message: logsOnlyMessage(other.signal) });
    if (path !== '/v1/logs') {
      return refuse(req, res, type, { code: grpc.status.NOT_FOUND, message: `no such endpoint ${path}; OTLP logs go to POST /v1/logs` });
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return refuse(req, res, type, { code: grpc.status.INVALID_ARGUMENT, message: 'use POST /v1/logs', httpStatus: 405 });
    }
    if (!serving) {
      return refuseError(req, res, type, unavailable('server is shutting down; retry', { retryDelayMs: options.retryDelayMs }), logger);
    }
    const contentType = contentTypeOf(req.headers['content-type']);
    if (!contentType) {
      const message = `Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')} is not supported; use application/x-protobuf or application/json`;
      return refuse(req, res, 'json', { code: grpc.status.INVALID_ARGUMENT, message, httpStatus: 415 });
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > options.maxBodyBytes) return refuse(req, res, contentType, tooLarge(options.maxBodyBytes));

    const metadata = httpHeaders(req);
    const peer = `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? 0}`;
    const requestId = randomUUID();
    let callLogger = logger.child({ method: 'OTLP/HTTP Export', requestId });
    // The same concurrency cap as gRPC ingestion calls, decided before the body is read.
    const admitted = deps.admission?.enterCall();
    if (admitted?.kind === 'refused') return refuseError(req, res, contentType, admitted.error, callLogger);
    const release = admitted?.release;
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableEnded) abort.abort(new Error('client went away'));
    };
    res.once('close', onClose);
    try {
      const caller = await deps.authenticator.authenticate(metadata, peer);
      callLogger = logger.child({ method: 'OTLP/HTTP Export', requestId, collectorId: caller.collectorId, workspaceId: caller.workspaceId });
      const body = await readBody(req, options.maxBodyBytes);
      const decoded = decodeRequest(await decompress(body, req.headers['content-encoding'], options.maxBodyBytes), contentType);
      const ctx: CallContext = { method: 'Export', requestId, logger: callLogger, metadata, peer, caller, signal: abort.signal };
      const response = await deps.handler(decoded, ctx);
      send(res, contentType, 200, encodeResponse(response, contentType));
    } catch (err) {
      if (err instanceof BodyError) {
        const code = err.httpStatus === 413 ? grpc.status.RESOURCE_EXHAUSTED : grpc.status.INVALID_ARGUMENT;
        return refuse(req, res, contentType, { code, message: err.message, httpStatus: err.httpStatus });
      }
      return refuseError(req, res, contentType, err, callLogger);
    } finally {
      res.removeListener('close', onClose);
      release?.();
    }
  }

  /** Any error, mapped to a status by grpc/status.ts (the one mapping), then to HTTP. */
  function refuseError(req: IncomingMessage, res: ServerResponse, type: OtlpContentType, err: unknown, log: Logger): void {
    const status = toServiceError(err, log, deps.statusPolicy);
    const details = status.metadata.get('grpc-status-details-bin')[0];
    const retryDelayMs = Buffer.isBuffer(details) ? decodeStatusDetails(details).retryDelayMs : undefined;
    refuse(req, res, type, { code: status.code, message: status.details, retryDelayMs });
  }

  function refuse(req: IncomingMessage, res: ServerResponse, type: OtlpContentType, r: Refusal): void {
    const httpStatus = r.httpStatus ?? httpStatusOf(r.code, r.retryDelayMs !== undefined);
    if (r.retryDelayMs !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(r.retryDelayMs / 1000))));
    // A body we did not read must not be taken for the next request on this connection.
    if (!req.complete) res.setHeader('Connection', 'close');
    send(res, type, httpStatus, encodeStatus(r.code, r.message, r.retryDelayMs, type));
    req.resume();
  }

  function send(res: ServerResponse, type: OtlpContentType, httpStatus: number, body: Buffer | { code: number; message: string }): void {
    const bytes = Buffer.isBuffer(body) ? body : encodeStatus(body.code, body.message, undefined, type);
    res.writeHead(httpStatus, {
      'Content-Type': type === 'json' ? 'application/json' : 'application/x-protobuf',
      'Content-Length': bytes.length,
    });
    res.end(bytes);
    deps.metrics.otlpHttpRequest(httpStatus);
  }

  return {
    get port() {
      return port;
    },
    start: () =>
      new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
          server.removeListener('error', reject);
          port = (server.address() as AddressInfo).port;
          const scheme = deps.tls ? (deps.tls.mtls ? 'https (mtls)' : 'https') : 'http';
          logger.info({ host: options.host, port, scheme }, 'OTLP/HTTP server listening');
          resolve(port);
        });
      }),
    stop: () => {
      stopping ??= (async () => {
        serving = false;
        tls?.detach();
        if (!server.listening) return;
        await Promise.race([inFlight.idle(), new Promise((r) => setTimeout(r, options.shutdownGraceMs).unref())]);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        logger.info('OTLP/HTTP server stopped');
      })();
      return stopping;
    },
  };
}

/**
 * An HTTPS server that follows the gRPC server's certificate provider: the
 * current certificate (and client CA) at once, and every reload after.
 */
function withCertificates(
  tls: NonNullable<OtlpHttpDeps['tls']>,
  onRequest: (req: IncomingMessage, res: ServerResponse) => void,
): { server: TlsServer; detach: () => void } {
  let identity: { cert: Buffer; key: Buffer } | undefined;
  let ca: Buffer | undefined;
  const server = createTlsServer({ requestCert: tls.mtls, rejectUnauthorized: tls.mtls }, onRequest);
  const apply = () => {
    if (identity && (!tls.mtls || ca)) server.setSecureContext({ ...identity, ca });
  };
  const onIdentity = (update: { certificate: Buffer; privateKey: Buffer } | null) => {
    if (update) identity = { cert: update.certificate, key: update.privateKey };
    apply();
  };
  const onCa = (update: { caCertificate: Buffer } | null) => {
    ca = update?.caCertificate;
    apply();
  };
  tls.certificates.addIdentityCertificateListener(onIdentity);
  if (tls.mtls) tls.certificates.addCaCertificateListener(onCa);
  return {
    server,
    detach: () => {
      tls.certificates.removeIdentityCertificateListener(onIdentity);
      if (tls.mtls) tls.certificates.removeCaCertificateListener(onCa);
    },
  };
}

/** The request's headers as the authenticator reads them (grpc-js Metadata's shape). */
function httpHeaders(req: IncomingMessage): RequestHeaders {
  return {
    get: (name: string) => {
      const value = req.headers[name.toLowerCase()];
      return value === undefined ? [] : Array.isArray(value) ? value : [value];
    },
  };
}

const tooLarge = (max: number): Refusal => ({
  code: grpc.status.RESOURCE_EXHAUSTED,
  message: `request is larger than ${max} bytes (MAX_RECEIVE_MESSAGE_BYTES)`,
  httpStatus: 413,
});

/** Reads a request body, refusing (413) once it passes `max` bytes. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeListener('data', onData);
        reject(new BodyError(413, tooLarge(max).message));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}
