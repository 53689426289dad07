import type {
  BatchRecord,
  DeletionCounts as DeletionCountsMessage,
  DeletionReport as DeletionReportMessage,
  SessionSummary as SessionSummaryMessage,
} from '../../generated/catsyphon/admin/v1/admin';
import type { BatchView, DeletionCounts, DeletionReport, SessionSummary } from '../lifecycle/lifecycle-api';

/** Lifecycle views to and from their admin-socket messages. */

export function batchToMessage(v: BatchView): BatchRecord {
  return {
    ...v,
    workspaceSlug: v.workspaceSlug ?? undefined,
    collectorName: v.collectorName ?? undefined,
    requestBytes: BigInt(v.requestBytes),
    firstError: v.firstError ?? undefined,
  };
}

export function batchFromMessage(m: BatchRecord): BatchView {
  return {
    ...m,
    workspaceSlug: m.workspaceSlug ?? null,
    collectorName: m.collectorName ?? null,
    requestBytes: Number(m.requestBytes),
    firstError: m.firstError ?? null,
  };
}

export function sessionToMessage(v: SessionSummary): SessionSummaryMessage {
  return {
    ...v,
    collectorId: v.collectorId ?? undefined,
    collectorName: v.collectorName ?? undefined,
    project: v.project ?? undefined,
    developer: v.developer ?? undefined,
  };
}

export function sessionFromMessage(m: SessionSummaryMessage | undefined): SessionSummary {
  if (!m) throw new Error('the server answered without a session');
  return {
    ...m,
    collectorId: m.collectorId ?? null,
    collectorName: m.collectorName ?? null,
    project: m.project ?? null,
    developer: m.developer ?? null,
  };
}

export function reportToMessage(r: DeletionReport): DeletionReportMessage {
  const counts = Object.fromEntries(Object.entries(r.counts).map(([k, v]) => [k, BigInt(v)])) as unknown as DeletionCountsMessage;
  return { action: r.action, dryRun: r.dryRun, target: { ...r.target }, counts };
}

export function reportFromMessage(m: { report?: DeletionReportMessage | undefined }): DeletionReport {
  const r = m.report;
  if (!r?.counts) throw new Error('the server answered without a deletion report');
  const counts = Object.fromEntries(Object.entries(r.counts).map(([k, v]) => [k, Number(v)])) as unknown as DeletionCounts;
  return { action: r.action, dryRun: r.dryRun, target: r.target, counts };
}
