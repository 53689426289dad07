import { readFile } from 'node:fs/promises';
import { status as grpcStatus } from '@grpc/grpc-js';
import type { Session } from '../../generated/catsyphon/telemetry/v1/sessions';
import { IngestClient } from '../client/ingest.client';
import type { ExportReport, IngestClientOptions, TlsOptions } from '../client/types';
import { readTranscript, type TranscriptFile } from './claude-code/jsonl.reader';
import { buildSessions } from './claude-code/session.builder';
import { findInputFiles } from './input-files';
import { sessionsFromJson } from './json-sessions';
import { ObservationLedger } from './observation-ledger';
import { type ProgressStream, progressBar } from './progress';
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
}

const MAX_WARNINGS_SHOWN = 20;

interface Loaded {
  sessions: Session[];
  warnings: string[];
  errors: string[];
  files: number;
}

async function load(options: PushOptions, io: PushIo, ledger: ObservationLedger | undefined): Promise<Loaded> {
  const inputs = await findInputFiles(options.paths);
  const errors = [...inputs.errors];
  const sessions: Session[] = [];
  const files = inputs.json.length + inputs.jsonl.length;
  const bar = progressBar(io.stderr, 'reading', files);
  for (const path of inputs.json) {
    try {
      sessions.push(...sessionsFromJson(await readFile(path, 'utf8')));
    } catch (err) {
      errors.push(`${path}: ${(err as Error).message}`);
    }
    bar.tick();
  }
  const transcripts: TranscriptFile[] = [];
  for (const path of inputs.jsonl) {
    try {
      transcripts.push(readTranscript(path, await readFile(path)));
    } catch (err) {
      errors.push(`${path}: ${(err as Error).message}`);
    }
    bar.tick();
  }
  bar.done();
  const nowNs = io.nowNs();
  const built = buildSessions(transcripts, ledger ? { observedAt: (f) => ledger.observe(f, nowNs) } : {});
  sessions.push(...built.sessions);
  return { sessions, warnings: built.warnings, errors, files };
}

function clientOptions(options: PushOptions, io: PushIo, onBatch: IngestClientOptions['onBatch']): IngestClientOptions {
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
    onBatch,
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
  const loaded = await load(options, io, ledger);
  if (warning) loaded.warnings.unshift(warning);
  for (const w of loaded.warnings.slice(0, MAX_WARNINGS_SHOWN)) io.stderr.write(`warning: ${w}\n`);
  if (loaded.warnings.length > MAX_WARNINGS_SHOWN) io.stderr.write(`warning: ... and ${loaded.warnings.length - MAX_WARNINGS_SHOWN} more\n`);
  for (const e of loaded.errors) io.stderr.write(`error: ${e}\n`);
  if (loaded.files === 0 && loaded.errors.length === 0) loaded.errors.push('no .json or .jsonl files found');

  let report: ExportReport = { results: [], batches: [], counts: { created: 0, updated: 0, duplicate: 0, failed: 0 } };
  if (loaded.sessions.length > 0) {
    const bar = progressBar(io.stderr, 'pushing', loaded.sessions.length, 200);
    const client = new IngestClient(clientOptions(options, io, (b) => bar.tick(b.sessions)));
    try {
      report = options.stream ? await client.exportSessionsStream(loaded.sessions) : await client.exportSessions(loaded.sessions);
    } finally {
      bar.done();
      client.close();
      await ledger?.save();
    }
  } else {
    await ledger?.save();
  }

  const failed = report.counts.failed > 0 || loaded.errors.length > 0;
  if (options.json) {
    io.stdout.write(
      `${JSON.stringify({
        ok: !failed,
        files: loaded.files,
        sessions: report.results.length,
        counts: report.counts,
        results: report.results.map(({ index: _i, ...r }) => r),
        batches: report.batches,
        warnings: loaded.warnings,
        errors: loaded.errors,
      })}\n`,
    );
  } else {
    io.stdout.write(`${formatSummary(report)}\n`);
    if (loaded.errors.length) io.stdout.write(`${loaded.errors.length} input error(s), see above\n`);
  }
  return failed ? 1 : 0;
}
