import type { ExportReport, OutcomeStatus, SessionOutcome } from '../client/types';

const ROWS: OutcomeStatus[] = ['created', 'updated', 'duplicate', 'failed'];
const MAX_FAILURES_SHOWN = 20;

function table(report: ExportReport): string[] {
  const rows: Array<Array<string | number>> = ROWS.map((status) => {
    const results = report.results.filter((r) => r.status === status);
    return [status, results.length, results.reduce((n, r) => n + r.messagesIngested, 0), results.reduce((n, r) => n + r.threadsIngested, 0)];
  });
  rows.push(['total', report.results.length, rows.reduce((n, r) => n + Number(r[2]), 0), rows.reduce((n, r) => n + Number(r[3]), 0)]);
  const cells = [['status', 'sessions', 'new messages', 'new threads'], ...rows].map((r) => r.map(String));
  const widths = cells[0].map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  const lines = cells.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  lines.splice(1, 0, rule);
  lines.splice(lines.length - 1, 0, rule);
  return lines;
}

/**
 * Why sessions failed. Whole-call failures (every session of a batch shares
 * them) are grouped into one line; per-session failures are listed, up to a cap.
 */
function failures(results: readonly SessionOutcome[]): string[] {
  const failed = results.filter((r) => r.status === 'failed');
  const grouped = new Map<string, number>();
  const single: string[] = [];
  for (const r of failed) {
    const reason = `${r.error?.code ?? 'UNKNOWN'} ${r.error?.message ?? ''}`.trimEnd();
    if (r.error?.source === 'rpc') grouped.set(reason, (grouped.get(reason) ?? 0) + 1);
    else single.push(`failed ${r.sessionId || '(no id)'}: ${reason}${r.error?.field ? ` at ${r.error.field}` : ''}`);
  }
  const lines = [...grouped].map(([reason, n]) => `failed (${n} session${n === 1 ? '' : 's'}, the call failed): ${reason}`);
  lines.push(...single.slice(0, MAX_FAILURES_SHOWN));
  if (single.length > MAX_FAILURES_SHOWN) lines.push(`... and ${single.length - MAX_FAILURES_SHOWN} more failed sessions (--json lists them all)`);
  return lines;
}

/** The human summary: one row per outcome, then why sessions failed. */
export function formatSummary(report: ExportReport): string {
  return [...table(report), ...failures(report.results)].join('\n');
}
