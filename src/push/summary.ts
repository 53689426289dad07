import type { ExportReport, OutcomeStatus } from '../client/types';

const ROWS: OutcomeStatus[] = ['created', 'updated', 'duplicate', 'failed'];

/** The human summary: one row per outcome, then each failed session with its reason. */
export function formatSummary(report: ExportReport): string {
  const rows: Array<Array<string | number>> = ROWS.map((status) => {
    const results = report.results.filter((r) => r.status === status);
    return [status, results.length, results.reduce((n, r) => n + r.messagesIngested, 0), results.reduce((n, r) => n + r.threadsIngested, 0)];
  });
  rows.push(['total', report.results.length, rows.reduce((n, r) => n + Number(r[2]), 0), rows.reduce((n, r) => n + Number(r[3]), 0)]);
  const table = [['status', 'sessions', 'new messages', 'new threads'], ...rows].map((r) => r.map(String));
  const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
  const lines = table.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  lines.splice(lines.length - 1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of report.results.filter((x) => x.status === 'failed')) {
    const field = r.error?.field ? ` at ${r.error.field}` : '';
    lines.push(`failed ${r.sessionId || '(no id)'}: ${r.error?.code ?? 'UNKNOWN'} ${r.error?.message ?? ''}${field}`.trimEnd());
  }
  return lines.join('\n');
}
