import type { Kysely } from 'kysely';
import type { CollectorActivity } from '../auth/collector-info';
import type { IngestLimits } from '../config/config';
import type { TransactionRunner } from '../db/copy';
import type { DB } from '../db/schema';
import type { Caller } from '../identity/caller';
import type { DimensionCache } from '../ingest/dimension.cache';
import { ingestBatch } from '../ingest/ingest.service';
import { validateSession } from '../ingest/session.validator';
import type { Logger } from '../logging/logger';
import type { IngestMetrics } from '../metrics/ingest-metrics';
import { SessionStatus } from '../../generated/catsyphon/telemetry/v1/sessions';
import type {
  ExportLogsServiceRequest,
  ExportLogsServiceResponse,
} from '../../generated/opentelemetry/proto/collector/logs/v1/logs_service';
import type { MappedRecord, RecordInput, RejectedRecord } from './dialects/dialect';
import { mapRecord, recordsOf } from './dialects/record.mapper';
import { type AssembledSession, assembleSessions } from './session.assembler';
import { mergeStoredState } from './stored-session.merge';

export interface LogsExportDeps {
  readonly db: Kysely<DB>;
  /** The ingest transaction (with COPY on PostgreSQL), the same as ExportSessions uses. */
  readonly transaction: TransactionRunner;
  readonly limits: IngestLimits;
  readonly dimensions: DimensionCache;
  readonly activity: CollectorActivity;
  readonly metrics: IngestMetrics;
}

/** At most this many rejection reasons are spelled out in partial_success.error_message. */
const REASONS_SHOWN = 5;

/**
 * OTLP logs -> sessions: maps each record by its dialect, groups them into
 * sessions, and stores those through the same ingest path as ExportSessions
 * (workspace of the key, validation, tables, message dedup by (thread, seq)).
 * Records that cannot be stored are counted in partial_success, which is left
 * unset when every record was accepted (OTLP: the client must not retry a
 * partial success). Throws only for what fails the whole call (an outage).
 */
export async function exportLogs(
  request: ExportLogsServiceRequest,
  caller: Caller,
  deps: LogsExportDeps,
  logger: Logger,
): Promise<ExportLogsServiceResponse> {
  const rejected: RejectedRecord[] = [];
  const mapped: Array<{ input: RecordInput; mapped: MappedRecord }> = [];
  let total = 0;
  let hostname = '';
  let version = '';
  for (const input of recordsOf(request)) {
    total++;
    hostname ||= input.resource.text('host.name') ?? '';
    version ||= input.resource.text('service.version') ?? '';
    const outcome = mapRecord(input, deps.limits);
    if ('rejected' in outcome) rejected.push(outcome.rejected);
    else mapped.push({ input, mapped: outcome.mapped });
  }
  deps.activity.record(caller, {
    type: 'otlp',
    version,
    hostname,
    collectorId: caller.collectorId,
    workspaceId: caller.workspaceId,
    metadata: {},
  });
  const assembled = assembleSessions(mapped, deps.limits);
  rejected.push(...assembled.rejected);
  const sessions = assembled.sessions.map((a) => pruneInvalidMessages(a, deps.limits, rejected));
  const storable = sessions.filter((s): s is AssembledSession => s !== undefined);

  if (storable.length > 0) {
    await mergeStoredState(deps.db, caller.workspaceId, storable.map((a) => a.session));
    const outcome = await ingestBatch(deps.transaction, caller, storable.map((a) => a.session), {
      limits: deps.limits,
      logger,
      dimensions: deps.dimensions,
    });
    outcome.results.forEach((result, i) => {
      if (result.status !== SessionStatus.SESSION_STATUS_FAILED) return;
      const reason = `session ${JSON.stringify(result.sessionId)}: ${result.error?.message ?? 'failed'}`;
      for (const path of storable[i].recordPaths.flat()) rejected.push({ path, reason });
    });
    deps.metrics.recordSessionResults(outcome.results.map((r) => r.status));
    deps.metrics.addMessagesIngested(outcome.results.reduce((sum, r) => sum + r.messagesIngested, 0));
  }
  deps.metrics.otlpLogRecords(total - rejected.length, rejected.length);
  if (rejected.length === 0) return { partialSuccess: undefined };
  logger.info({ rejected: rejected.length, total, first: rejected[0] }, 'log records rejected');
  return {
    partialSuccess: { rejectedLogRecords: BigInt(rejected.length), errorMessage: describeRejections(rejected, total) },
  };
}

/** `2 of 7 log records rejected: resource_logs[0]…log_records[3]: no session id: …; …`. */
export function describeRejections(rejected: readonly RejectedRecord[], total: number): string {
  const shown = rejected.slice(0, REASONS_SHOWN).map((r) => `${r.path}: ${r.reason}`);
  const more = rejected.length > REASONS_SHOWN ? `; and ${rejected.length - REASONS_SHOWN} more` : '';
  return `${rejected.length} of ${total} log records rejected: ${shown.join('; ')}${more}`;
}

const MESSAGE_FIELD = /^sessions\[0\]\.threads\[(\d+)\]\.messages\[(\d+)\]/;

/**
 * Runs the ingest validator on one assembled session and drops each message
 * it refuses (counting its record as rejected), so one oversized record does
 * not fail the records around it. A session-level problem rejects them all.
 */
function pruneInvalidMessages(a: AssembledSession, limits: IngestLimits, rejected: RejectedRecord[]): AssembledSession | undefined {
  for (;;) {
    const verdict = validateSession(a.session, 'sessions[0]', limits);
    if (verdict.kind === 'valid') {
      const kept = a.session.threads.map((t, i) => [t, a.recordPaths[i]] as const).filter(([t]) => t.messages.length > 0);
      if (kept.length === 0) return undefined;
      a.session.threads = kept.map(([t]) => t);
      return { session: a.session, recordPaths: kept.map(([, p]) => p) };
    }
    const at = MESSAGE_FIELD.exec(verdict.issue.field);
    if (!at) {
      const reason = `session ${JSON.stringify(a.session.id)}: ${verdict.issue.message} (${verdict.issue.field})`;
      for (const path of a.recordPaths.flat()) rejected.push({ path, reason });
      return undefined;
    }
    const [t, m] = [Number(at[1]), Number(at[2])];
    const field = verdict.issue.field.replace(/^sessions\[0\]\.threads\[\d+\]\.messages\[\d+\]\.?/, '');
    rejected.push({ path: a.recordPaths[t][m], reason: `${verdict.issue.message}${field ? ` (${field})` : ''}` });
    a.session.threads[t].messages.splice(m, 1);
    a.recordPaths[t].splice(m, 1);
  }
}
