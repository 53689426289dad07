import { status as grpcStatus } from '@grpc/grpc-js';
import { IngestClient } from '../client/ingest.client';
import type { ExportReport, IngestClientOptions, TlsOptions } from '../client/types';
import { ExportSink } from './export-sink';
import { findInputFiles } from './input-files';
import { ObservationLedger } from './observation-ledger';
import { type ProgressStream, progressBar } from './progress';
import { sessionSources } from './session-sources';
import { formatSummary } from './summary';

export interface PushOptions {
  readonly paths: readonly string[];
  /** `host:port`. */
  readonly server: string;
  readonly apiKey: string | undefined;
  readonly tls: boolean | TlsOptions;
  readonly json: boolean;
  readonly maxSessionsPerBatch: number;
  readonly maxBatchBytes: number;
  readonly stream: boolean;
  readonly deadlineMs: number | undefined;
  readonly maxAttempts: number | undefined;
  /** Where first-read times of transcript lines are kept; undefined: observed_at = emitted_at. */
  readonly stateFile: string | undefined;
}

export interface PushIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: ProgressStream;
  /** Wall clock in ns (parse time of new transcript lines). */
  readonly nowNs: () => bigint;
  /** Extra client options (tests inject sleep). */
  readonly client?: Partial<IngestClientOptions>;
  /** Input bytes read before they are sent (default 32 MiB; tests lower it). */
  readonly flushBytes?: number;
}

const MAX_WARNINGS_SHOWN = 20;
/** Input bytes read before they are sent: bounds memory on large transcript directories. */
const FLUSH_BYTES = 32 * 1024 * 1024;

function clientOptions(options: PushOptions, io: PushIo): IngestClientOptions {
  return {
    address: options.server,
    apiKey: options.apiKey,
    tls: options.tls,
    limits: { maxSessions: options.maxSessionsPerBatch, maxBytes: options.maxBatchBytes },
    deadlineMs: options.deadlineMs,
    streamDeadlineMs: options.deadlineMs,
    ...(options.maxAttempts ? { retry: { maxAttempts: options.maxAttempts } } : {}),
    onRetry: (e) =>
      io.stderr.write(`\rbatch ${e.batchId}: ${grpcStatus[e.code]} (${e.details}), attempt ${e.attempt}, retrying in ${e.delayMs} ms\n`),
    ...io.client,
  };
}

/**
 * `catsyphon-ingest push`: reads proto3-JSON sessions and Claude Code
 * transcripts, exports them, prints a summary. Returns the exit code:
 * 0 when every session was stored (created, updated or duplicate), 1 when
 * a session or an input file failed.
 */
export async function runPush(options: PushOptions, io: PushIo): Promise<number> {
  const { ledger, warning } = options.stateFile ? await ObservationLedger.load(options.stateFile) : { ledger: undefined };
  const warnings: string[] = warning ? [warning] : [];
  const inputs = await findInputFiles(options.paths);
  const errors = [...inputs.errors];
  const fileCount = inputs.json.length + inputs.jsonl.length;
  if (fileCount === 0 && errors.length === 0) errors.push('no .json or .jsonl files found');
  const warn = (w: string) => {
    if (warnings.length < MAX_WARNINGS_SHOWN) io.stderr.write(`\rwarning: ${w}\n`);
    warnings.push(w);
  };
  const fail = (e: string) => {
    io.stderr.write(`\rerror: ${e}\n`);
    errors.push(e);
  };
  for (const e of inputs.errors) io.stderr.write(`error: ${e}\n`);
  if (warning) io.stderr.write(`warning: ${warning}\n`);

  const client = new IngestClient(clientOptions(options, io));
  const sink = new ExportSink(client, io.flushBytes ?? Math.max(FLUSH_BYTES, options.maxBatchBytes), options.stream);
  const bar = progressBar(io.stderr, 'pushing', fileCount);
  try {
    for await (const chunk of sessionSources(inputs, ledger, io.nowNs())) {
      chunk.warnings.forEach(warn);
      chunk.errors.forEach(fail);
      await sink.add(chunk.sessions, chunk.bytes);
      bar.tick(chunk.files);
    }
    await sink.flush();
  } finally {
    bar.done();
    client.close();
    await ledger?.save();
  }
  if (warnings.length > MAX_WARNINGS_SHOWN) io.stderr.write(`warning: ... and ${warnings.length - MAX_WARNINGS_SHOWN} more\n`);
  return printResult(options.json, io, sink.report(), { files: fileCount, warnings, errors });
}

/** Prints the JSON object or the summary table; returns the exit code. */
function printResult(
  json: boolean,
  io: PushIo,
  report: ExportReport,
  inputs: { files: number; warnings: string[]; errors: string[] },
): number {
  const failed = report.counts.failed > 0 || inputs.errors.length > 0;
  if (json) {
    io.stdout.write(
      `${JSON.stringify({
        ok: !failed,
        files: inputs.files,
        sessions: report.results.length,
        counts: report.counts,
        results: report.results.map(({ index: _i, ...r }) => r),
        batches: report.batches,
        warnings: inputs.warnings,
        errors: inputs.errors,
      })}\n`,
    );
  } else {
    io.stdout.write(`${formatSummary(report)}\n`);
    if (inputs.errors.length) io.stdout.write(`${inputs.errors.length} input error(s), see above\n`);
  }
  return failed ? 1 : 0;
}
