import { InvalidArgumentError } from 'commander';
import { hostname, userInfo } from 'node:os';
import type { BatchView, DeletionReport } from '../lifecycle/lifecycle-api';
import { parseDuration } from '../util/duration';
import { table } from './output';

/** Who runs the CLI, for audit entries: user@host. */
export function cliActor(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): the host still says where it ran.
  }
  return `${user}@${hostname()}`;
}

/** commander parser for --since: 30s, 15m, 1h, 7d. */
export function sinceOption(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new InvalidArgumentError('expected a duration such as 30m, 1h or 7d');
  return ms;
}

/** commander parser for --limit. */
export function limitOption(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 10_000) {
    throw new InvalidArgumentError('expected a number from 1 to 10000');
  }
  return Number(text);
}

/** commander parser for --retention: a duration of at least 1s, or never. */
export function retentionOption(text: string): number | 'never' {
  if (text.trim().toLowerCase() === 'never') return 'never';
  const ms = parseDuration(text);
  if (ms === undefined || ms < 1_000) throw new InvalidArgumentError('expected `never` or a duration of at least 1s, such as 30d');
  return ms;
}

const COUNT_LABELS: [keyof DeletionReport['counts'], string][] = [
  ['sessions', 'sessions'],
  ['threads', 'threads'],
  ['messages', 'messages'],
  ['filesTouched', 'files touched'],
  ['plans', 'plans'],
  ['projects', 'projects'],
  ['developers', 'developers'],
  ['backingModels', 'backing models'],
  ['collectors', 'collectors'],
  ['workspaces', 'workspaces'],
  ['idempotencyRecords', 'idempotency records'],
];

export function describeReport(report: DeletionReport): string {
  const head = report.dryRun ? 'Dry run: nothing was deleted. It would delete:' : 'Deleted:';
  const lines = COUNT_LABELS.filter(([k]) => report.counts[k] > 0 || k === 'sessions').map(
    ([k, label]) => `  ${label.padEnd(20)} ${report.counts[k]}`,
  );
  return [head, ...lines].join('\n');
}

export function batchesTable(batches: readonly BatchView[]): string {
  return table(
    ['RECEIVED', 'BATCH ID', 'WORKSPACE', 'COLLECTOR', 'CODE', 'SESSIONS', 'MSGS', 'NEW/UPD/DUP/FAIL', 'MS', 'ERROR'],
    batches.map((b) => [
      b.receivedAt,
      b.batchId,
      b.workspaceSlug ?? b.workspaceId,
      b.collectorName ?? b.collectorId,
      b.replayed ? `${b.grpcCode} (replay)` : b.grpcCode,
      String(b.sessionsIn),
      String(b.messagesIn),
      `${b.created}/${b.updated}/${b.duplicate}/${b.failed}`,
      String(Math.round(b.durationMs)),
      b.firstError ?? '',
    ]),
  );
}

export function describeBatch(b: BatchView): string {
  return [
    `batch ${b.batchId} (${b.method})`,
    `  received:    ${b.receivedAt}, ${b.durationMs.toFixed(1)} ms`,
    `  workspace:   ${b.workspaceSlug ?? '(deleted)'} (${b.workspaceId})`,
    `  collector:   ${b.collectorName ?? '(deleted)'} (${b.collectorId})`,
    `  code:        ${b.grpcCode}${b.replayed ? ' (answered from the idempotency record)' : ''}`,
    `  received:    ${b.sessionsIn} sessions, ${b.messagesIn} messages, ${b.requestBytes} bytes`,
    `  results:     ${b.created} created, ${b.updated} updated, ${b.duplicate} duplicate, ${b.failed} failed`,
    ...(b.firstError ? [`  first error: ${b.firstError}`] : []),
  ].join('\n');
}
