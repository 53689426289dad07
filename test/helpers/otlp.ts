import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { AnyValue as ApiAnyValue } from '@opentelemetry/api';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, type LogRecordExporter, LoggerProvider } from '@opentelemetry/sdk-logs';
import { type App, type AppOverrides, startApp } from '../../src/app';
import { type Config, loadConfig } from '../../src/config/config';
import {
  ExportLogsServiceRequest,
  ExportLogsServiceResponse,
  LogsServiceClient,
} from '../../generated/opentelemetry/proto/collector/logs/v1/logs_service';
import { IngestClient } from './ingest-client';
import { captureLogger } from './log-capture';
import { createTestDatabase, type TestDatabase } from './test-database';

/** The real app with OTLP/HTTP on a free port, and one workspace with a collector key. */
export interface OtlpTestApp {
  readonly app: App;
  readonly config: Config;
  readonly grpcAddress: string;
  /** http://127.0.0.1:<port> of the OTLP/HTTP listener. */
  readonly httpUrl: string;
  readonly apiKey: string;
  readonly client: IngestClient;
  readonly logs: ReturnType<typeof captureLogger>;
  close(): Promise<void>;
}

export async function startOtlpApp(env: Record<string, string> = {}, overrides: AppOverrides = {}): Promise<OtlpTestApp> {
  const testDb: TestDatabase = await createTestDatabase();
  const loaded = loadConfig({
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: '0',
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: '0',
    SHUTDOWN_GRACE_MS: '5s',
    BCRYPT_COST: '4',
    ...testDb.env,
    ...env,
  });
  // httpPort 0: a free port (OTLP_HTTP_PORT=0 in the environment turns the listener off).
  const config: Config = { ...loaded, otlp: { httpHost: '127.0.0.1', httpPort: 0 } };
  const logs = captureLogger();
  const app = await startApp(config, logs.logger, overrides);
  await app.collectors.createWorkspace({ name: 'OTLP', slug: 'otlp' });
  const { apiKey } = await app.collectors.createCollector({ workspace: 'otlp', name: 'otel' });
  const grpcAddress = `127.0.0.1:${app.server.port}`;
  const client = new IngestClient(grpcAddress, apiKey);
  return {
    app,
    config,
    grpcAddress,
    httpUrl: `http://127.0.0.1:${app.otlpHttp?.port}`,
    apiKey,
    client,
    logs,
    close: async () => {
      client.close();
      await app.stop();
      await testDb.drop();
    },
  };
}

export type Transport = 'grpc' | 'http/protobuf' | 'http/json';

/** An official OpenTelemetry JS exporter for the transport, pointed at the test app with a key. */
export function exporterFor(t: OtlpTestApp, transport: Transport, apiKey = t.apiKey): LogRecordExporter {
  if (transport === 'grpc') {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${apiKey}`);
    return new GrpcLogExporter({ url: `http://${t.grpcAddress}`, metadata });
  }
  const options = { url: `${t.httpUrl}/v1/logs`, headers: { Authorization: `Bearer ${apiKey}` } };
  return transport === 'http/json' ? new JsonLogExporter(options) : new ProtoLogExporter(options);
}

/** The shape of test/fixtures/otlp/*.json. */
export interface OtlpFixture {
  resource: Record<string, string>;
  scope: { name: string; version: string };
  common: Record<string, string>;
  records: Array<{ event: string; sequence?: number; timestamp: string; attributes: Record<string, string> }>;
}

export function loadFixture(name: string): OtlpFixture {
  return JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'otlp', name), 'utf8')) as OtlpFixture;
}

/**
 * Emits fixture records through the SDK's LoggerProvider and a batch
 * processor into the exporter, the way Claude Code and Codex do: Claude
 * Code's body is the prefixed name and event.name the short one; Codex's
 * event.name is prefixed.
 */
export async function sendFixture(fixture: OtlpFixture, exporter: LogRecordExporter, records = fixture.records): Promise<void> {
  const provider = new LoggerProvider({
    resource: resourceFromAttributes(fixture.resource),
    processors: [new BatchLogRecordProcessor({ exporter, maxExportBatchSize: 512, scheduledDelayMillis: 60_000 })],
  });
  const logger = provider.getLogger(fixture.scope.name, fixture.scope.version);
  const claude = fixture.resource['service.name'] === 'claude-code';
  for (const r of records) {
    const attributes: Record<string, string | number> = { ...fixture.common, ...r.attributes, 'event.timestamp': r.timestamp };
    attributes['event.name'] = r.event;
    if (r.sequence !== undefined) attributes['event.sequence'] = r.sequence;
    const ms = Date.parse(r.timestamp);
    logger.emit({
      body: (claude ? `claude_code.${r.event}` : undefined) as ApiAnyValue,
      attributes,
      timestamp: new Date(ms),
      observedTimestamp: new Date(ms + 5),
    });
  }
  await provider.forceFlush();
  await provider.shutdown();
}

/** LogsService/Export with a raw grpc-js client: the response or the error, whatever happens. */
export function grpcExport(
  address: string,
  request: ExportLogsServiceRequest,
  metadata: grpc.Metadata,
): Promise<{ response?: ExportLogsServiceResponse; error?: grpc.ServiceError }> {
  const client = new LogsServiceClient(address, grpc.credentials.createInsecure());
  return new Promise((resolve) =>
    client.export(request, metadata, (error, response) => {
      client.close();
      resolve(error ? { error } : { response });
    }),
  );
}

export function bearerMetadata(key: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${key}`);
  return md;
}

/** A POST with node's fetch: status, headers and raw body. */
export async function post(
  url: string,
  body: Buffer | string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(url, { method: 'POST', body, headers });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

export const requestBytes = (r: ExportLogsServiceRequest) => Buffer.from(ExportLogsServiceRequest.encode(r).finish());
