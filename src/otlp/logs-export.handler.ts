import type { CallContext, UnaryHandler } from '../identity/call-context';
import { type RpcDeps, unary } from '../grpc/rpc';
import type { ServiceRegistration } from '../grpc/server';
import type { IngestionGuard } from '../protect/ingestion-guard';
import {
  type ExportLogsServiceRequest,
  type ExportLogsServiceResponse,
  LogsServiceService,
} from '../../generated/opentelemetry/proto/collector/logs/v1/logs_service';
import { countLogRecords } from './dialects/record.mapper';
import { exportLogs, type LogsExportDeps } from './logs-export.service';

export const LOGS_SERVICE = 'opentelemetry.proto.collector.logs.v1.LogsService';

export type LogsExportHandler = UnaryHandler<ExportLogsServiceRequest, ExportLogsServiceResponse>;

/** What both OTLP transports call: one export, for an authenticated caller. */
export interface LogsExport {
  readonly handler: LogsExportHandler;
}

/**
 * The export handler shared by gRPC and OTLP/HTTP, behind the ingestion
 * guard (database reachable, rate limits with log records counted as
 * messages, buffered-messages cap).
 */
export function logsExportHandler(deps: LogsExportDeps, guard: IngestionGuard | undefined): LogsExportHandler {
  const handler: LogsExportHandler = (request, ctx: CallContext) => exportLogs(request, ctx.caller, deps, ctx.logger);
  return guard ? guard.unary(handler, countLogRecords) : handler;
}

/** opentelemetry.proto.collector.logs.v1.LogsService on the gRPC server (port 4317). */
export function logsService(handler: LogsExportHandler, rpc: RpcDeps): ServiceRegistration {
  return {
    name: LOGS_SERVICE,
    definition: LogsServiceService,
    implementation: { export: unary('Export', handler, rpc) },
  };
}
