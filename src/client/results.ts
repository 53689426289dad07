import * as grpc from '@grpc/grpc-js';
import {
  type ExportSessionsResponse,
  type Session,
  type SessionResult,
  SessionStatus,
  batchStatusToJSON,
  errorCodeToJSON,
} from '../../generated/catsyphon/telemetry/v1/sessions';
import type { BatchReport, ExportReport, OutcomeStatus, SessionOutcome } from './types';

const STATUS: Partial<Record<SessionStatus, OutcomeStatus>> = {
  [SessionStatus.SESSION_STATUS_CREATED]: 'created',
  [SessionStatus.SESSION_STATUS_UPDATED]: 'updated',
  [SessionStatus.SESSION_STATUS_DUPLICATE]: 'duplicate',
  [SessionStatus.SESSION_STATUS_FAILED]: 'failed',
};

function fromServer(index: number, batchId: string, result: SessionResult): SessionOutcome {
  const status = STATUS[result.status] ?? 'failed';
  const base = {
    index,
    sessionId: result.sessionId,
    status,
    batchId,
    catsyphonId: result.catsyphonId || undefined,
    messagesIngested: result.messagesIngested,
    threadsIngested: result.threadsIngested,
  };
  if (status !== 'failed') return base;
  const error = result.error
    ? { source: 'server' as const, code: errorCodeToJSON(result.error.code), message: result.error.message, field: result.error.field || undefined }
    : { source: 'server' as const, code: 'UNKNOWN', message: `session status ${result.status}` };
  return { ...base, error };
}

/** A session that was sent but failed with the whole call, or got no result back. */
export function failedOutcome(
  index: number,
  session: Session,
  batchId: string | undefined,
  error: NonNullable<SessionOutcome['error']>,
): SessionOutcome {
  return {
    index,
    sessionId: session.id,
    status: 'failed',
    batchId,
    catsyphonId: undefined,
    messagesIngested: 0,
    threadsIngested: 0,
    error,
  };
}

/**
 * Pairs the server's results with the sessions sent. The server answers in
 * request order; when the counts differ, results are matched by session id.
 */
export function matchResults(
  indexes: readonly number[],
  sessions: readonly Session[],
  batchId: string,
  response: ExportSessionsResponse,
): SessionOutcome[] {
  const results = response.results;
  const aligned = results.length === sessions.length && results.every((r, i) => r.sessionId === sessions[i].id);
  if (aligned) return results.map((r, i) => fromServer(indexes[i], batchId, r));
  const byId = new Map<string, SessionResult[]>();
  for (const r of results) byId.set(r.sessionId, [...(byId.get(r.sessionId) ?? []), r]);
  return sessions.map((s, i) => {
    const r = byId.get(s.id)?.shift();
    return r
      ? fromServer(indexes[i], batchId, r)
      : failedOutcome(indexes[i], s, batchId, { source: 'client', code: 'NO_RESULT', message: 'the server returned no result for this session' });
  });
}

export function rpcFailure(err: grpc.ServiceError): { source: 'rpc'; code: string; message: string } {
  return { source: 'rpc', code: grpc.status[err.code] ?? String(err.code), message: err.details || err.message };
}

export function batchReport(
  batchId: string,
  sessions: number,
  bytes: number,
  attempts: number,
  outcome: { response?: ExportSessionsResponse; error?: grpc.ServiceError },
): BatchReport {
  return {
    batchId,
    sessions,
    bytes,
    attempts,
    ...(outcome.response ? { status: batchStatusToJSON(outcome.response.status) } : {}),
    ...(outcome.error ? { error: { code: rpcFailure(outcome.error).code, message: rpcFailure(outcome.error).message } } : {}),
  };
}

export function buildReport(results: SessionOutcome[], batches: BatchReport[]): ExportReport {
  const ordered = [...results].sort((a, b) => a.index - b.index);
  const counts: Record<OutcomeStatus, number> = { created: 0, updated: 0, duplicate: 0, failed: 0 };
  for (const r of ordered) counts[r.status]++;
  return { results: ordered, batches, counts };
}
