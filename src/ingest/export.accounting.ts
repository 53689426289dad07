import type { CallAudit } from '../audit/batch-audit';
import { type CollectorActivity, reconcileCollectorInfo } from '../auth/collector-info';
import { DomainError } from '../errors/domain-error';
import type { CallContext } from '../identity/call-context';
import type { Caller } from '../identity/caller';
import type { IngestMetrics } from '../metrics/ingest-metrics';
import type { CollectorInfo, SessionResult } from '../../generated/catsyphon/telemetry/v1/sessions';
import type { ExportDeps } from './export.deps';

/** Counts the results of a committed transaction (sessions by status, messages stored). */
export function recordCommitted(metrics: IngestMetrics, results: readonly SessionResult[]): void {
  metrics.recordSessionResults(results.map((r) => r.status));
  metrics.addMessagesIngested(results.reduce((sum, r) => sum + r.messagesIngested, 0));
}

/**
 * Checks the request's CollectorInfo against the caller (a refusal counts as
 * the `workspace_mismatch` auth failure) and records the collector as seen.
 */
export function admitCollector(
  metrics: IngestMetrics,
  activity: CollectorActivity,
  caller: Caller,
  info: CollectorInfo | undefined,
): void {
  let reconciled: CollectorInfo;
  try {
    reconciled = reconcileCollectorInfo(caller, info);
  } catch (err) {
    if (err instanceof DomainError && err.kind === 'permission_denied') metrics.authFailure('workspace_mismatch');
    throw err;
  }
  activity.record(caller, reconciled);
}

/** Runs one export call under its audit record, which is ended with the outcome, also when the call throws. */
export async function withCallAudit<T>(deps: ExportDeps, ctx: CallContext, work: (audit: CallAudit) => Promise<T>): Promise<T> {
  const audit = deps.audits.begin(ctx.caller, ctx.method, ctx.signal);
  try {
    const response = await work(audit);
    audit.end();
    return response;
  } catch (err) {
    audit.end(err);
    throw err;
  }
}
