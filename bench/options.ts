import * as path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { parseDuration } from '../src/util/duration';
import type { AuthCallKind, LoadClientKind } from './load/protocol';
import { DEFAULT_WORKLOAD, type WorkloadOptions } from './workload';

export type Phase = 'baseline' | 'stages' | 'ingest' | 'otlp' | 'replay' | 'auth' | 'soak';
const PHASES: readonly Phase[] = ['baseline', 'stages', 'ingest', 'otlp', 'replay', 'auth', 'soak'];

export interface BenchOptions {
  readonly quick: boolean;
  readonly adminUrl: string;
  readonly keepDatabase: boolean;
  readonly phases: readonly Phase[];
  readonly concurrency: readonly number[];
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly baselineDurationMs: number;
  /** Concurrency of the OTLP logs phase. */
  readonly otlpConcurrency: number;
  readonly replayConcurrency: number;
  readonly authConcurrency: number;
  readonly authCall: AuthCallKind;
  readonly client: LoadClientKind;
  readonly soakMs: number;
  readonly soakConcurrency: number;
  readonly soakSampleMs: number;
  readonly channels: number;
  readonly insertRows: number;
  readonly stageReps: number;
  readonly workload: WorkloadOptions;
  readonly profile: boolean;
  readonly logLevel: string;
  readonly serverEnv: Readonly<Record<string, string>>;
  readonly out: string;
  readonly resultsDir: string;
}

export const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
/** bench/ in the source tree, also when running from dist/bench/. */
export const BENCH_DIR = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../bench' : '.');

const duration = (v: string): number => {
  const ms = parseDuration(v);
  if (ms === undefined) throw new InvalidArgumentError('expected a duration such as 500ms, 20s or 5m');
  return ms;
};
const int = (v: string): number => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a whole number');
  return Number(v);
};
const ratio = (v: string): number => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('expected a number from 0 to 1');
  return n;
};
const list = (v: string): number[] => v.split(',').map((x) => int(x.trim()));
const phases = (v: string): Phase[] =>
  v.split(',').map((p) => {
    if (!PHASES.includes(p.trim() as Phase)) throw new InvalidArgumentError(`phases are ${PHASES.join(', ')}`);
    return p.trim() as Phase;
  });
const keyValue = (v: string, acc: Record<string, string>): Record<string, string> => {
  const i = v.indexOf('=');
  if (i < 1) throw new InvalidArgumentError('expected KEY=VALUE');
  return { ...acc, [v.slice(0, i)]: v.slice(i + 1) };
};

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const w = DEFAULT_WORKLOAD;
  const program = new Command('bench')
    .description('catsyphon-ingest benchmark: service throughput and latency beside PostgreSQL COPY and INSERT')
    .option('--quick', 'CI mode: short phases; checks only that every figure is produced', false)
    .option('--db-url <url>', 'admin PostgreSQL URL (a fresh database is created and dropped)', env.BENCH_DATABASE_URL ?? DEFAULT_ADMIN_URL)
    .option('--keep-db', 'do not drop the bench database at the end', false)
    .option('--phases <list>', `phases to run, from ${PHASES.join(',')}`, phases)
    .option('--concurrency <list>', 'ingest concurrency levels', list, [1, 4, 16])
    .option('--warmup <duration>', 'unmeasured warm-up before each phase', duration)
    .option('--duration <duration>', 'measured time of each phase', duration)
    .option('--baseline-duration <duration>', 'measured time of each baseline (default: --duration)', duration)
    .option('--otlp-concurrency <n>', 'concurrency of the OTLP logs phase (LogsService/Export, one record per message)', int, 16)
    .option('--replay-concurrency <n>', 'concurrency of the cached-replay phase', int, 16)
    .option('--auth-concurrency <n>', 'concurrency of the small authenticated calls', int, 16)
    .option('--auth-call <kind>', 'small authenticated call: invalid-export (auth only, no database) or session-status (GetSessionStatus)', 'invalid-export')
    .option('--soak <duration>', 'also run a soak at --soak-concurrency for this long, sampling server RSS', duration)
    .option('--soak-concurrency <n>', 'concurrency of the soak', int, 16)
    .option('--soak-sample <duration>', 'RSS sampling interval of the soak', duration, 5_000)
    .option(
      '--channels <n>',
      'gRPC channels (HTTP/2 connections) the load client spreads calls over, as several collectors would',
      int,
      4,
    )
    .option('--stage-reps <n>', 'batches timed by the in-process stages phase (default 15, 3 with --quick)', int)
    .option('--insert-rows <n>', 'rows per multi-row INSERT in the baseline', int, 1000)
    .option('--sessions-per-batch <n>', `sessions per batch (default ${w.sessionsPerBatch}, 2 with --quick)`, int)
    .option('--threads <n>', 'threads per session', int, w.threadsPerSession)
    .option('--messages-per-thread <n>', 'messages per thread', int, w.messagesPerThread)
    .option('--content-min <bytes>', 'smallest message content', int, w.contentMinBytes)
    .option('--content-median <bytes>', 'median message content', int, w.contentMedianBytes)
    .option('--content-max <bytes>', 'largest message content', int, w.contentMaxBytes)
    .option('--raw-data <bytes>', 'raw_data size (±20%)', int, w.rawDataBytes)
    .option('--metadata-entries <n>', 'metadata entries per message', int, w.metadataEntries)
    .option('--tool-call-ratio <r>', 'share of messages with a tool call', ratio, w.toolCallRatio)
    .option('--files-touched-ratio <r>', 'share of messages with a files_touched entry', ratio, w.filesTouchedRatio)
    .option('--templates <n>', 'distinct sessions generated and rotated', int, w.templateSessions)
    .option('--seed <n>', 'generator seed', int, w.seed)
    .option(
      '--client <kind>',
      'ingest load client: raw (pre-encoded requests) or library (the IngestClient of src/client, encoding as a collector does)',
      'raw',
    )
    .option('--profile', 'run the server with --cpu-prof; the profile lands in bench/results/', false)
    .option('--log-level <level>', 'server LOG_LEVEL', 'info')
    .option('--server-env <KEY=VALUE>', 'extra server environment (repeatable)', keyValue, {})
    .option('--out <file>', 'JSON results file', path.join(BENCH_DIR, 'results', 'latest.json'))
    .exitOverride();
  program.parse(argv);
  const o = program.opts();
  const quick = Boolean(o.quick);
  if (o.authCall !== 'session-status' && o.authCall !== 'invalid-export') {
    throw new InvalidArgumentError('--auth-call is session-status or invalid-export');
  }
  if (o.client !== 'raw' && o.client !== 'library') throw new InvalidArgumentError('--client is raw or library');
  const durationMs = o.duration ?? (quick ? 1_500 : 20_000);
  const soakMs = o.soak ?? 0;
  const defaultPhases: Phase[] = ['baseline', 'stages', 'ingest', 'otlp', 'replay', 'auth', ...(soakMs > 0 ? (['soak'] as const) : [])];
  return {
    quick,
    adminUrl: o.dbUrl,
    keepDatabase: Boolean(o.keepDb),
    phases: o.phases ?? defaultPhases,
    concurrency: o.concurrency,
    warmupMs: o.warmup ?? (quick ? 300 : 3_000),
    durationMs,
    baselineDurationMs: o.baselineDuration ?? durationMs,
    otlpConcurrency: o.otlpConcurrency,
    replayConcurrency: o.replayConcurrency,
    authConcurrency: o.authConcurrency,
    authCall: o.authCall,
    client: o.client,
    soakMs: soakMs || 300_000,
    soakConcurrency: o.soakConcurrency,
    soakSampleMs: o.soakSample,
    channels: o.channels,
    insertRows: o.insertRows,
    stageReps: o.stageReps ?? (quick ? 3 : 15),
    workload: {
      sessionsPerBatch: o.sessionsPerBatch ?? (quick ? 2 : w.sessionsPerBatch),
      threadsPerSession: o.threads,
      messagesPerThread: o.messagesPerThread,
      contentMinBytes: o.contentMin,
      contentMedianBytes: o.contentMedian,
      contentMaxBytes: o.contentMax,
      rawDataBytes: o.rawData,
      metadataEntries: o.metadataEntries,
      toolCallRatio: o.toolCallRatio,
      filesTouchedRatio: o.filesTouchedRatio,
      templateSessions: quick ? Math.min(o.templates, 10) : o.templates,
      seed: o.seed,
    },
    profile: Boolean(o.profile),
    logLevel: o.logLevel,
    serverEnv: o.serverEnv,
    out: path.resolve(o.out),
    resultsDir: path.dirname(path.resolve(o.out)),
  };
}
