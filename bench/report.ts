import type { BaselineResult } from './baseline/baseline';
import type { StageFigure } from './stages/stages';
import type { LatencySummary } from './stats';
import type { WorkloadOptions } from './workload';

/** What one bench run produced: printed as a table and written as JSON. */

export interface MachineFigures {
  readonly cpus: number;
  readonly node: string;
  readonly postgres: string;
  readonly loadAverageStart: readonly number[];
  readonly loadAverageEnd: readonly number[];
}

/** CPU and memory around one measured window. */
export interface WindowFigures {
  readonly serverCpuS: number;
  readonly dbCpuS: number;
  readonly clientCpuS: number;
  /** Machine-wide busy CPU seconds not spent by the server, its backends or the client: other load. */
  readonly otherCpuS: number;
  readonly machineBusyPct: number;
  readonly serverPeakRssMiB: number;
}

export interface IngestFigures extends WindowFigures {
  readonly concurrency: number;
  readonly calls: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  readonly messagesPerS: number;
  readonly sessionsPerS: number;
  readonly batchesPerS: number;
  readonly latencyMs: LatencySummary;
  readonly serverCpuSPer1kMsgs: number;
  readonly dbCpuSPer1kMsgs: number;
}

export interface CallFigures extends WindowFigures {
  readonly kind: string;
  readonly concurrency: number;
  readonly calls: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  readonly callsPerS: number;
  readonly latencyMs: LatencySummary;
  readonly serverCpuMsPerCall: number;
  readonly notes: readonly string[];
}

export interface SoakFigures {
  readonly concurrency: number;
  readonly durationS: number;
  readonly errors: number;
  readonly messagesPerS: number;
  readonly latencyMs: LatencySummary;
  readonly rssSamples: readonly { readonly tS: number; readonly rssMiB: number }[];
  readonly rssFirstMinuteMaxMiB: number;
  readonly rssLastMinuteMaxMiB: number;
  readonly rssMaxMiB: number;
  /** Least-squares slope of RSS after the first minute. */
  readonly rssSlopeMiBPerMin: number;
}

export interface Target {
  readonly name: string;
  readonly goal: string;
  readonly value: number;
  readonly met: boolean;
}

export interface BenchResults {
  readonly version: 1;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly quick: boolean;
  readonly phases: readonly string[];
  readonly machine: MachineFigures;
  readonly server: { readonly mode: string; readonly peakRssMiB: number; readonly profile?: string; readonly log: string };
  /** The load client: raw or library, over how many connections. */
  readonly load?: { readonly client: string; readonly channels: number };
  readonly workload: WorkloadOptions & {
    readonly messagesPerBatch: number;
    readonly requestBytes: number;
    readonly smallRequestBytes: number;
  };
  readonly baseline: { readonly copy?: BaselineResult; readonly insert?: BaselineResult };
  /** In-process cost of each ingestion step, µs per message (fastest of several batches). */
  readonly stages?: readonly StageFigure[];
  readonly ingest: readonly IngestFigures[];
  /** OTLP LogsService/Export of the same messages as log records: `messagesPerS` counts records. */
  readonly otlp?: IngestFigures;
  readonly replay?: CallFigures;
  readonly auth?: CallFigures;
  readonly soak?: SoakFigures;
  readonly ratios: readonly {
    readonly concurrency: number;
    readonly vsCopy: number;
    readonly vsInsert: number;
    /**
     * CPU per message of binary COPY (writer + backend) over the service's
     * (server + its backends): the throughput ratio if both were CPU-bound on
     * the same cores. Far less sensitive to other load than `vsCopy`.
     */
    readonly cpuVsCopy: number;
  }[];
  readonly targets: readonly Target[];
}

export function targets(r: Omit<BenchResults, 'targets'>): Target[] {
  const out: Target[] = [];
  const c16 = r.ratios.find((x) => x.concurrency === 16);
  if (c16) out.push({ name: 'c16 msgs/s vs binary COPY', goal: '>= 0.5x', value: c16.vsCopy, met: c16.vsCopy >= 0.5 });
  if (c16) out.push({ name: 'c16 vs binary COPY by CPU per message (informative)', goal: '>= 0.5x', value: c16.cpuVsCopy, met: c16.cpuVsCopy >= 0.5 });
  const c4 = r.ingest.find((x) => x.concurrency === 4);
  if (c4) out.push({ name: 'c4 p99 batch latency (ms)', goal: '< 100', value: c4.latencyMs.p99, met: c4.latencyMs.p99 < 100 && c4.errors === 0 });
  if (r.replay) out.push({ name: 'cached replay calls/s', goal: '>= 2000', value: r.replay.callsPerS, met: r.replay.callsPerS >= 2000 });
  if (r.soak) {
    const growth = r.soak.rssLastMinuteMaxMiB - r.soak.rssFirstMinuteMaxMiB;
    // "Flat": the last minute's peak within 10% (and at most 32 MiB) of the first minute's.
    const met = growth <= Math.min(32, 0.1 * r.soak.rssFirstMinuteMaxMiB);
    out.push({ name: 'soak RSS growth, last vs first minute (MiB)', goal: 'flat (<= 10%, <= 32 MiB)', value: growth, met });
  }
  // A figure that was not produced never meets its target.
  return out.map((t) => (Number.isFinite(t.value) ? t : { ...t, met: false }));
}

/** Every figure that must be a finite number, by JSON path; `--quick` fails when any is missing. */
export function missingFigures(r: BenchResults): string[] {
  const missing: string[] = [];
  const check = (obj: unknown, prefix: string) => {
    if (obj === null || obj === undefined) {
      missing.push(prefix);
      return;
    }
    if (typeof obj === 'number') {
      if (!Number.isFinite(obj)) missing.push(prefix);
      return;
    }
    if (Array.isArray(obj)) obj.forEach((v, i) => check(v, `${prefix}[${i}]`));
    else if (typeof obj === 'object') for (const [k, v] of Object.entries(obj)) check(v, `${prefix}.${k}`);
  };
  const p = r.phases;
  if (p.includes('baseline')) {
    check(r.baseline.copy, 'baseline.copy');
    check(r.baseline.insert, 'baseline.insert');
  }
  if (p.includes('ingest')) {
    if (r.ingest.length === 0) missing.push('ingest');
    check(r.ingest, 'ingest');
    if (p.includes('baseline')) check(r.ratios, 'ratios');
  }
  if (p.includes('stages')) check(r.stages, 'stages');
  if (p.includes('otlp')) check(r.otlp, 'otlp');
  if (p.includes('replay')) check(r.replay, 'replay');
  if (p.includes('auth')) check(r.auth, 'auth');
  if (p.includes('soak')) check(r.soak, 'soak');
  check(r.server.peakRssMiB, 'server.peakRssMiB');
  return missing;
}

/** Phases whose calls failed: their figures mean nothing. */
export function failedCalls(r: BenchResults): string[] {
  const out: string[] = [];
  for (const i of r.ingest) if (i.errors > 0 || i.calls === 0) out.push(`ingest c${i.concurrency}: ${i.errors}/${i.calls} calls failed ${i.errorSamples.join('; ')}`);
  if (r.otlp && (r.otlp.errors > 0 || r.otlp.calls === 0)) out.push(`otlp c${r.otlp.concurrency}: ${r.otlp.errors}/${r.otlp.calls} calls failed ${r.otlp.errorSamples.join('; ')}`);
  for (const c of [r.replay, r.auth]) if (c && (c.errors > 0 || c.calls === 0)) out.push(`${c.kind}: ${c.errors}/${c.calls} calls failed ${c.errorSamples.join('; ')}`);
  if (r.soak && r.soak.errors > 0) out.push(`soak: ${r.soak.errors} calls failed`);
  return out;
}

const f = (v: number | undefined, digits = 0): string =>
  v === undefined || !Number.isFinite(v) ? '—' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatReport(r: BenchResults): string {
  const out: string[] = [];
  const w = r.workload;
  out.push(
    `catsyphon-ingest bench ${r.quick ? '(quick) ' : ''}${r.startedAt}  node ${r.machine.node}, PostgreSQL ${r.machine.postgres}, ${r.machine.cpus} CPUs, load ${r.machine.loadAverageStart.join(' ')} -> ${r.machine.loadAverageEnd.join(' ')}`,
    `batch: ${w.sessionsPerBatch} sessions x ${w.threadsPerSession} threads x ${w.messagesPerThread} messages = ${w.messagesPerBatch} messages, ${f(w.requestBytes / 1e6, 2)} MB; server: ${r.server.mode}${r.load ? `; load: ${r.load.client} client, ${r.load.channels} connections` : ''}`,
    '',
  );
  const rows: string[][] = [];
  for (const m of ['copy', 'insert'] as const) {
    const b = r.baseline[m];
    if (!b) continue;
    rows.push([`baseline ${m === 'copy' ? 'binary COPY' : `INSERT x${r.workload.messagesPerBatch >= 1000 ? 1000 : r.workload.messagesPerBatch}`}`, f(b.rowsPerS), '—', f(b.latencyMs.p50, 1), f(b.latencyMs.p95, 1), f(b.latencyMs.p99, 1), f(b.nodeCpuSPer1k, 3), f(b.dbCpuSPer1k, 3), '—', '—', '—', '—', '—']);
  }
  for (const i of r.ingest) {
    const ratio = r.ratios.find((x) => x.concurrency === i.concurrency);
    rows.push([`ingest c${i.concurrency}`, f(i.messagesPerS), f(i.sessionsPerS, 1), f(i.latencyMs.p50, 1), f(i.latencyMs.p95, 1), f(i.latencyMs.p99, 1), f(i.serverCpuSPer1kMsgs, 3), f(i.dbCpuSPer1kMsgs, 3), f(i.serverPeakRssMiB), f(i.machineBusyPct), f(i.otherCpuS, 1), ratio ? `${f(ratio.vsCopy, 2)} / ${f(ratio.vsInsert, 2)}` : '—', ratio ? f(ratio.cpuVsCopy, 2) : '—']);
  }
  if (r.otlp) {
    const o = r.otlp;
    const native = r.ingest.find((i) => i.concurrency === o.concurrency);
    const vsNative = native ? `${f(o.messagesPerS / native.messagesPerS, 2)} x native` : '—';
    rows.push([`otlp logs c${o.concurrency} (records)`, f(o.messagesPerS), f(o.sessionsPerS, 1), f(o.latencyMs.p50, 1), f(o.latencyMs.p95, 1), f(o.latencyMs.p99, 1), f(o.serverCpuSPer1kMsgs, 3), f(o.dbCpuSPer1kMsgs, 3), f(o.serverPeakRssMiB), f(o.machineBusyPct), f(o.otherCpuS, 1), vsNative, '—']);
  }
  out.push(table(['phase', 'msgs/s', 'sess/s', 'p50 ms', 'p95 ms', 'p99 ms', 'node cpu s/1k', 'db cpu s/1k', 'rss MiB', 'busy %', 'other cpu s', 'x COPY / x INSERT', 'x COPY by cpu'], rows));
  if (r.stages) {
    out.push('', table(['in-process step (one batch at a time)', 'us/msg min', 'us/msg median'], r.stages.map((x) => [x.stage, f(x.usPerMsg, 2), f(x.medianUsPerMsg, 2)])));
  }
  const calls = [r.replay, r.auth].filter((c): c is CallFigures => !!c);
  if (calls.length) {
    out.push('');
    out.push(table(['calls', 'conc', 'calls/s', 'p50 ms', 'p95 ms', 'p99 ms', 'server cpu ms/call', 'errors'], calls.map((c) => [c.kind, String(c.concurrency), f(c.callsPerS), f(c.latencyMs.p50, 2), f(c.latencyMs.p95, 2), f(c.latencyMs.p99, 2), f(c.serverCpuMsPerCall, 3), String(c.errors)])));
    for (const c of calls) for (const n of c.notes) out.push(`note (${c.kind}): ${n}`);
  }
  if (r.soak) {
    const s = r.soak;
    out.push('', `soak c${s.concurrency} ${f(s.durationS)} s: ${f(s.messagesPerS)} msgs/s, p99 ${f(s.latencyMs.p99, 1)} ms, RSS first minute ${f(s.rssFirstMinuteMaxMiB)} MiB, last minute ${f(s.rssLastMinuteMaxMiB)} MiB, max ${f(s.rssMaxMiB)} MiB, slope ${f(s.rssSlopeMiBPerMin, 2)} MiB/min`);
  }
  out.push('', `server peak RSS (VmHWM) ${f(r.server.peakRssMiB)} MiB${r.server.profile ? `; CPU profile ${r.server.profile}` : ''}`);
  if (r.targets.length) {
    out.push('', table(['target', 'goal', 'value', 'met'], r.targets.map((t) => [t.name, t.goal, f(t.value, 2), t.met ? 'yes' : 'NO'])));
  }
  const failures = failedCalls(r);
  if (failures.length) out.push('', ...failures.map((x) => `FAILED CALLS: ${x}`));
  return out.join('\n');
}
