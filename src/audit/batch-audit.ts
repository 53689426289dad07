import type { SessionResult } from '../../generated/catsyphon/telemetry/v1/sessions';
import { SessionStatus } from '../../generated/catsyphon/telemetry/v1/sessions';

/** The collector behind a call, as far as the audit needs it. */
export interface AuditedCaller {
  readonly collectorId: string;
  readonly workspaceId: string;
}

/** One authenticated export call, as kept in ingest_audit. */
export interface BatchAuditRecord {
  readonly workspaceId: string;
  readonly collectorId: string;
  readonly batchId: string;
  readonly method: string;
  readonly receivedAt: Date;
  readonly durationMs: number;
  /** Unary: the request's wire size; stream: the sum of the sessions' encodings. */
  readonly requestBytes: number;
  readonly sessionsIn: number;
  readonly messagesIn: number;
  readonly created: number;
  readonly updated: number;
  readonly duplicate: number;
  readonly failed: number;
  /** Answered from the idempotency record: nothing was stored by this call. */
  readonly replayed: boolean;
  /** The gRPC status name of the call (OK, INVALID_ARGUMENT, …). */
  readonly grpcCode: string;
  /** The call's error, or the first failed session's (`field: message`). */
  readonly firstError: string | null;
}

/** Where finished calls' records go (appended in bulk by BatchAuditWriter). */
export interface BatchAuditSink {
  append(record: BatchAuditRecord): void;
}

/** What the export handlers fill in while a call runs; `end` hands the record to the sink once. */
export interface CallAudit {
  batchId: string;
  requestBytes: number;
  sessionsIn: number;
  messagesIn: number;
  replayed: boolean;
  /** Adds the results of committed (or replayed) sessions. */
  addResults(results: readonly SessionResult[]): void;
  /** The call ended; `error` when it failed (its gRPC code is derived from it). */
  end(error?: unknown): void;
}

/** The gRPC status name an error becomes (provided by the transport, which owns that mapping). */
export type StatusNameOf = (error: unknown) => string;

export interface CallAuditFactory {
  begin(caller: AuditedCaller, method: string, signal?: AbortSignal): CallAudit;
}

/** Begins per-call audits that end up in `sink`; `statusNameOf` names the code of a failed call. */
export function callAuditFactory(sink: BatchAuditSink, statusNameOf: StatusNameOf): CallAuditFactory {
  return {
    begin(caller, method, signal) {
      const receivedAt = new Date();
      const started = process.hrtime.bigint();
      const counts = { created: 0, updated: 0, duplicate: 0, failed: 0 };
      let firstError: string | null = null;
      let ended = false;
      const audit: CallAudit = {
        batchId: '',
        requestBytes: 0,
        sessionsIn: 0,
        messagesIn: 0,
        replayed: false,
        addResults(results) {
          for (const r of results) {
            if (r.status === SessionStatus.SESSION_STATUS_CREATED) counts.created++;
            else if (r.status === SessionStatus.SESSION_STATUS_UPDATED) counts.updated++;
            else if (r.status === SessionStatus.SESSION_STATUS_DUPLICATE) counts.duplicate++;
            else if (r.status === SessionStatus.SESSION_STATUS_FAILED) {
              counts.failed++;
              if (firstError === null && r.error) {
                firstError = `${r.sessionId}: ${r.error.field ? `${r.error.field}: ` : ''}${r.error.message}`;
              }
            }
          }
        },
        end(error) {
          if (ended) return;
          ended = true;
          let grpcCode = 'OK';
          if (error !== undefined) {
            grpcCode = signal?.aborted ? 'CANCELLED' : statusNameOf(error);
            const message = error instanceof Error ? error.message : String(error);
            // An unexpected error's text may hold internals: the code says enough.
            firstError = grpcCode === 'INTERNAL' ? 'internal error' : message;
          }
          sink.append({
            workspaceId: caller.workspaceId,
            collectorId: caller.collectorId,
            batchId: audit.batchId,
            method,
            receivedAt,
            durationMs: Number(process.hrtime.bigint() - started) / 1e6,
            requestBytes: audit.requestBytes,
            sessionsIn: audit.sessionsIn,
            messagesIn: audit.messagesIn,
            ...counts,
            replayed: audit.replayed,
            grpcCode,
            firstError: firstError === null ? null : truncate(firstError, MAX_ERROR_CHARS),
          });
        },
      };
      return audit;
    },
  };
}

/** Audit rows keep the start of an error message only. */
const MAX_ERROR_CHARS = 1000;

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Records nothing: for code paths without an audit trail (the bench's in-process stages, tests). */
export const noopCallAudits: CallAuditFactory = callAuditFactory({ append: () => undefined }, () => 'UNKNOWN');
