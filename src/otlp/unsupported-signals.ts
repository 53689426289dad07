import * as grpc from '@grpc/grpc-js';
import type { ServiceRegistration } from '../grpc/server';

/**
 * OTLP's metrics and trace services. This endpoint takes logs only; an
 * exporter pointed at it for every signal gets UNIMPLEMENTED with a message
 * that says so, instead of grpc-js's bare "method not implemented". The
 * request bytes are never decoded (the messages are not vendored: the
 * contract names these services only), so the definitions pass raw bytes.
 */
export const UNSUPPORTED_SIGNALS = [
  { service: 'opentelemetry.proto.collector.metrics.v1.MetricsService', signal: 'metrics' },
  { service: 'opentelemetry.proto.collector.trace.v1.TraceService', signal: 'traces' },
] as const;

export const logsOnlyMessage = (signal: string) =>
  `this endpoint takes OTLP logs only, not ${signal}: set OTEL_${signal === 'traces' ? 'TRACES' : 'METRICS'}_EXPORTER=none or send ${signal} to another collector`;

const raw = (bytes: Buffer) => bytes;

export function unsupportedSignalServices(): ServiceRegistration[] {
  return UNSUPPORTED_SIGNALS.map(({ service, signal }) => ({
    name: service,
    health: false,
    definition: {
      export: {
        path: `/${service}/Export`,
        requestStream: false,
        responseStream: false,
        requestSerialize: raw,
        requestDeserialize: raw,
        responseSerialize: raw,
        responseDeserialize: raw,
      },
    },
    implementation: {
      export: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
        callback({ code: grpc.status.UNIMPLEMENTED, details: logsOnlyMessage(signal) }),
    },
  }));
}
