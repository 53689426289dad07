import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { type BaselineMethod, type BaselineResult, type BaselineSpec, createBaselineTables } from './baseline/baseline';
import type { ClientReady, FromClient, PhaseResult, PhaseSpec, ToClient } from './load/protocol';
import { type BenchOptions, parseOptions } from './options';
import { cpuDelta, cpuOf, loadAverage, machineCpu, processCpuSeconds, processMemoryMiB } from './proc-stats';
import {
  type BenchResults,
  type CallFigures,
  failedCalls,
  formatReport,
  type IngestFigures,
  missingFigures,
  type SoakFigures,
  targets,
  type WindowFigures,
} from './report';
import { createCredentials } from './setup/credentials';
import type { StageFigure, StagesSpec } from './stages/stages';
import { backendPids, type BenchDatabase, createBenchDatabase, serverVersion } from './setup/database';
import { runNode, type ServerProcess, startServer } from './setup/server-process';
import { round, slope } from './stats';

/** dist/ (this file is dist/bench/run.js). */
const DIST = path.resolve(__dirname, '..');
const CLI = path.join(DIST, 'src', 'cli', 'main.js');

const log = (text: string) => process.stderr.write(`[bench] ${text}\n`);

/** The forked load client, with a promise-based phase call. */
class LoadClient {
  private constructor(
    private readonly child: ChildProcess,
    readonly ready: ClientReady,
  ) {}

  static async start(init: ToClient): Promise<LoadClient> {
    const child = fork(path.join(__dirname, 'load', 'load-worker.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ready = await new Promise<ClientReady>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`load client exited (${code}) before it was ready`)));
      child.once('message', (m: FromClient) => (m.kind === 'ready' ? resolve(m) : reject(new Error(m.kind === 'error' ? m.message : m.kind))));
      child.send(init);
    });
    child.removeAllListeners('exit');
    return new LoadClient(child, ready);
  }

  get pid(): number {
    return this.child.pid!;
  }

  run(spec: PhaseSpec, hooks: { windowStart(): void; windowEnd(): void }): Promise<PhaseResult> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`load client exited (${code}) during a phase`));
      const onMessage = (m: FromClient) => {
        if (m.kind === 'window-start') hooks.windowStart();
        else if (m.kind === 'window-end') hooks.windowEnd();
        else if (m.kind === 'result' || m.kind === 'error') {
          this.child.off('message', onMessage);
          this.child.off('exit', onExit);
          if (m.kind === 'result') resolve(m.result);
          else reject(new Error(m.message));
        }
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      this.child.send({ kind: 'phase', spec } satisfies ToClient);
    });
  }

  stop(): void {
    if (this.child.connected) this.child.send({ kind: 'exit' } satisfies ToClient);
    setTimeout(() => this.child.kill(), 2_000).unref();
  }
}

interface Snapshot {
  readonly t: number;
  readonly server: number;
  readonly client: number;
  readonly db: Map<number, number>;
  readonly machine: { busy: number; total: number };
}

/** Reads CPU of the server, its PostgreSQL backends and the client around a phase's window; samples RSS. */
class WindowMeter {
  private start?: Promise<Snapshot>;
  private end?: Promise<Snapshot>;
  private peakRss = 0;
  private timer?: NodeJS.Timeout;
  readonly rssSamples: { tS: number; rssMiB: number }[] = [];

  constructor(
    private readonly admin: Client,
    private readonly database: string,
    private readonly serverPid: number,
    private readonly clientPid: number,
    private readonly sampleEveryMs = 250,
    private readonly recordEveryMs = 0,
  ) {}

  private async snapshot(): Promise<Snapshot> {
    const pids = await backendPids(this.admin, this.database);
    return {
      t: performance.now(),
      server: processCpuSeconds(this.serverPid) ?? Number.NaN,
      client: processCpuSeconds(this.clientPid) ?? Number.NaN,
      db: cpuOf(pids),
      machine: machineCpu(),
    };
  }

  readonly hooks = {
    windowStart: () => {
      this.start = this.snapshot();
      const t0 = performance.now();
      let lastRecord = -Infinity;
      this.timer = setInterval(() => {
        const mem = processMemoryMiB(this.serverPid);
        if (!mem) return;
        this.peakRss = Math.max(this.peakRss, mem.rss);
        const now = performance.now();
        if (this.recordEveryMs > 0 && now - lastRecord >= this.recordEveryMs) {
          lastRecord = now;
          this.rssSamples.push({ tS: round((now - t0) / 1000, 1), rssMiB: round(mem.rss, 1) });
        }
      }, this.sampleEveryMs);
    },
    windowEnd: () => {
      clearInterval(this.timer);
      this.end = this.snapshot();
    },
  };

  async figures(): Promise<WindowFigures> {
    if (!this.start || !this.end) throw new Error('the measuring window never opened or closed');
    const [a, b] = await Promise.all([this.start, this.end]);
    const serverCpuS = b.server - a.server;
    const clientCpuS = b.client - a.client;
    const dbCpuS = cpuDelta(a.db, b.db);
    const busy = b.machine.busy - a.machine.busy;
    const total = b.machine.total - a.machine.total;
    return {
      serverCpuS: round(serverCpuS, 3),
      dbCpuS: round(dbCpuS, 3),
      clientCpuS: round(clientCpuS, 3),
      otherCpuS: round(busy - serverCpuS - clientCpuS - dbCpuS, 3),
      machineBusyPct: round((busy / total) * 100, 1),
      serverPeakRssMiB: round(Math.max(this.peakRss, processMemoryMiB(this.serverPid)?.rss ?? 0), 1),
    };
  }
}

/**
 * Flushes dirty buffers before a measured phase. A phase writes about 1.5 GB of WAL, so a
 * checkpoint that happened to start inside one phase and not the other moved COPY's baseline by
 * up to 30% between runs; starting every write phase from a clean state makes the two comparable.
 */
async function checkpoint(admin: Client): Promise<void> {
  await admin.query('CHECKPOINT');
}

/** Runs a one-shot worker (baseline, stages) in a Node process of its own. */
function runWorker<T>(script: string, spec: object, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, script), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    child.once('message', (m: { kind: 'result' } | { kind: 'error'; message: string }) => {
      settled = true;
      if (m.kind === 'result') resolve(m as T);
      else reject(new Error(`${what}: ${m.message}`));
    });
    child.once('exit', (code) => settled || reject(new Error(`${what} exited (${code})`)));
    child.send(spec);
  });
}

const runBaselineProcess = async (spec: BaselineSpec): Promise<BaselineResult> =>
  (await runWorker<{ result: BaselineResult }>('baseline/baseline-worker.js', spec, `baseline ${spec.method}`)).result;

async function main(options: BenchOptions): Promise<number> {
  const startedAt = new Date().toISOString();
  const loadStart = loadAverage();
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  mkdirSync(options.resultsDir, { recursive: true });
  log(`creating a database on ${new URL(options.adminUrl).host}`);
  const db: BenchDatabase = await createBenchDatabase(options.adminUrl);
  let server: ServerProcess | undefined;
  let client: LoadClient | undefined;
  const admin = new Client({ connectionString: db.url, application_name: 'bench-admin' });
  admin.on('error', (err) => log(`admin connection lost: ${err.message}`));
  const cleanup = async () => {
    client?.stop();
    await server?.stop().catch(() => undefined);
    await admin.end().catch(() => undefined);
    if (!options.keepDatabase) await db.drop().catch((err: Error) => log(`could not drop ${db.name}: ${err.message}`));
  };
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const serverEnv = {
      DATABASE_URL: db.url,
      LOG_LEVEL: options.logLevel,
      MIGRATE_ON_START: 'false',
      // One collector drives all the load: its per-collector rate limits (100 requests/s by
      // default) would cap the replay and auth phases, so the bench lifts them (0 = unlimited).
      RATE_LIMIT_REQUESTS_PER_MIN: '0',
      RATE_LIMIT_MESSAGES_PER_MIN: '0',
      // Metrics stay on (their cost is part of the service) on a free port.
      METRICS_PORT: '0', OTLP_HTTP_PORT: '0',
      ...options.serverEnv,
    };
    runNode(CLI, ['migrate'], serverEnv);
    await admin.connect();
    const postgres = await serverVersion(admin);
    await createBaselineTables(admin);
    const credentials = await createCredentials(db.url, DIST);

    const phases = options.phases;
    const baseline: { copy?: BaselineResult; insert?: BaselineResult } = {};
    if (phases.includes('baseline')) {
      for (const method of ['copy', 'insert'] as BaselineMethod[]) {
        log(`baseline ${method} for ${options.baselineDurationMs} ms`);
        await checkpoint(admin);
        baseline[method] = await runBaselineProcess({
          url: db.url,
          method,
          workload: options.workload,
          warmupMs: options.warmupMs,
          durationMs: options.baselineDurationMs,
          insertRows: options.insertRows,
        });
      }
    }

    let stages: StageFigure[] | undefined;
    if (phases.includes('stages')) {
      log(`timing the ingestion steps in-process (${options.stageReps} batches)`);
      const spec: StagesSpec = {
        url: db.url,
        workload: options.workload,
        reps: options.stageReps,
        workspaceId: credentials.workspaceId,
        collectorId: credentials.collectorId,
      };
      stages = (await runWorker<{ stages: StageFigure[] }>('stages/stages-worker.js', spec, 'stages')).stages;
    }

    const profileDir = path.join(options.resultsDir, `profile-${runId}`);
    const nodeArgs = options.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    log(`starting the server (${credentials.mode})`);
    server = await startServer({
      launch: credentials.launch,
      env: serverEnv,
      nodeArgs,
      logFile: path.join(options.resultsDir, 'server.log'),
    });
    client = await LoadClient.start({
      kind: 'init',
      address: server.address,
      token: credentials.token,
      runId,
      workload: options.workload,
      channels: options.channels,
      authCall: options.authCall,
      client: options.client,
    });
    const ready = client.ready;

    const measure = async (spec: PhaseSpec, recordEveryMs = 0) => {
      const meter = new WindowMeter(admin, db.name, server!.pid, client!.pid, 250, recordEveryMs);
      const result = await client!.run(spec, meter.hooks);
      return { result, window: await meter.figures(), meter };
    };

    const ingest: IngestFigures[] = [];
    if (phases.includes('ingest')) {
      for (const concurrency of options.concurrency) {
        log(`ingest at concurrency ${concurrency} for ${options.durationMs} ms (${options.workload.sessionsPerBatch} sessions per batch)`);
        await checkpoint(admin);
        const { result, window } = await measure({ type: 'ingest', concurrency, warmupMs: options.warmupMs, durationMs: options.durationMs, minCalls: concurrency });
        const seconds = result.windowMs / 1000;
        const ok = result.calls - result.errors;
        ingest.push({
          concurrency,
          calls: result.calls,
          errors: result.errors,
          errorSamples: result.errorSamples,
          messagesPerS: round(result.messages / seconds, 1),
          sessionsPerS: round(result.sessions / seconds, 2),
          batchesPerS: round(ok / seconds, 2),
          latencyMs: result.latencyMs,
          serverCpuSPer1kMsgs: round((window.serverCpuS / result.messages) * 1000, 4),
          dbCpuSPer1kMsgs: round((window.dbCpuS / result.messages) * 1000, 4),
          ...window,
        });
      }
    }

    // OTLP logs: the same sessions as one log record per message, through LogsService/Export.
    let otlp: IngestFigures | undefined;
    if (phases.includes('otlp')) {
      const concurrency = options.otlpConcurrency;
      log(`OTLP logs at concurrency ${concurrency} for ${options.durationMs} ms (${ready.messagesPerBatch} records per export)`);
      await checkpoint(admin);
      const { result, window } = await measure({ type: 'otlp', concurrency, warmupMs: options.warmupMs, durationMs: options.durationMs, minCalls: concurrency });
      const seconds = result.windowMs / 1000;
      otlp = {
        concurrency,
        calls: result.calls,
        errors: result.errors,
        errorSamples: result.errorSamples,
        messagesPerS: round(result.messages / seconds, 1),
        sessionsPerS: round(result.sessions / seconds, 2),
        batchesPerS: round((result.calls - result.errors) / seconds, 2),
        latencyMs: result.latencyMs,
        serverCpuSPer1kMsgs: round((window.serverCpuS / result.messages) * 1000, 4),
        dbCpuSPer1kMsgs: round((window.dbCpuS / result.messages) * 1000, 4),
        ...window,
      };
    }

    const callPhase = async (kind: 'replay' | 'auth', concurrency: number): Promise<CallFigures> => {
      log(`${kind} calls at concurrency ${concurrency} for ${options.durationMs} ms`);
      const { result, window } = await measure({ type: kind, concurrency, warmupMs: options.warmupMs, durationMs: options.durationMs, minCalls: concurrency });
      return {
        kind: kind === 'replay' ? 'cached replay (1 session, 10 msgs)' : `small authenticated call (${options.authCall})`,
        concurrency,
        calls: result.calls,
        errors: result.errors,
        errorSamples: result.errorSamples,
        callsPerS: round((result.calls - result.errors) / (result.windowMs / 1000), 1),
        latencyMs: result.latencyMs,
        serverCpuMsPerCall: round((window.serverCpuS / result.calls) * 1000, 4),
        notes: result.notes,
        ...window,
      };
    };
    const replay = phases.includes('replay') ? await callPhase('replay', options.replayConcurrency) : undefined;
    const auth = phases.includes('auth') ? await callPhase('auth', options.authConcurrency) : undefined;

    let soak: SoakFigures | undefined;
    if (phases.includes('soak')) {
      log(`soak at concurrency ${options.soakConcurrency} for ${options.soakMs} ms`);
      const spec: PhaseSpec = { type: 'ingest', concurrency: options.soakConcurrency, warmupMs: 0, durationMs: options.soakMs };
      const { result, meter } = await measure(spec, options.soakSampleMs);
      const samples = meter.rssSamples;
      const lastT = samples.length ? samples[samples.length - 1].tS : 0;
      const maxOf = (xs: { rssMiB: number }[]) => (xs.length ? Math.max(...xs.map((x) => x.rssMiB)) : Number.NaN);
      soak = {
        concurrency: spec.concurrency,
        durationS: result.windowMs / 1000,
        errors: result.errors,
        messagesPerS: round(result.messages / (result.windowMs / 1000), 1),
        latencyMs: result.latencyMs,
        rssSamples: samples,
        rssFirstMinuteMaxMiB: maxOf(samples.filter((s) => s.tS <= 60)),
        rssLastMinuteMaxMiB: maxOf(samples.filter((s) => s.tS >= lastT - 60)),
        rssMaxMiB: maxOf(samples),
        rssSlopeMiBPerMin: round(slope(samples.filter((s) => s.tS > 60).map((s) => ({ x: s.tS / 60, y: s.rssMiB }))), 3),
      };
    }

    const peakRssMiB = round(processMemoryMiB(server.pid)?.hwm ?? Number.NaN, 1);
    client.stop();
    client = undefined;
    await server.stop();
    const profile = options.profile ? newestProfile(profileDir) : undefined;
    const logFile = server.logFile;
    server = undefined;

    const partial: Omit<BenchResults, 'targets'> = {
      version: 1,
      startedAt,
      finishedAt: new Date().toISOString(),
      quick: options.quick,
      phases,
      machine: { cpus: os.cpus().length, node: process.version, postgres, loadAverageStart: loadStart, loadAverageEnd: loadAverage() },
      server: { mode: credentials.mode, peakRssMiB, profile, log: logFile },
      load: { client: options.client, channels: options.channels },
      workload: { ...options.workload, messagesPerBatch: ready.messagesPerBatch, requestBytes: ready.requestBytes, smallRequestBytes: ready.smallRequestBytes },
      baseline,
      stages,
      ingest,
      otlp,
      replay,
      auth,
      soak,
      ratios: ingest.map((i) => ({
        concurrency: i.concurrency,
        vsCopy: round(i.messagesPerS / (baseline.copy?.rowsPerS ?? Number.NaN), 3),
        vsInsert: round(i.messagesPerS / (baseline.insert?.rowsPerS ?? Number.NaN), 3),
        cpuVsCopy: baseline.copy
          ? round((baseline.copy.nodeCpuSPer1k + baseline.copy.dbCpuSPer1k) / (i.serverCpuSPer1kMsgs + i.dbCpuSPer1kMsgs), 3)
          : Number.NaN,
      })),
    };
    const results: BenchResults = { ...partial, targets: targets(partial) };
    writeFileSync(options.out, `${JSON.stringify(results, (_k, v) => (typeof v === 'bigint' ? String(v) : v), 2)}\n`);
    process.stdout.write(`${formatReport(results)}\n\nresults: ${options.out}\n`);

    const missing = missingFigures(results);
    const failures = failedCalls(results);
    if (missing.length) log(`MISSING FIGURES: ${missing.join(', ')}`);
    return missing.length || failures.length ? 1 : 0;
  } finally {
    await cleanup();
  }
}

/** The profile the server wrote on exit, moved next to the results. */
function newestProfile(dir: string): string | undefined {
  try {
    const file = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort().pop();
    if (!file) return undefined;
    const target = path.join(path.dirname(dir), `server-${path.basename(dir).replace('profile-', '')}.cpuprofile`);
    renameSync(path.join(dir, file), target);
    return target;
  } catch {
    return undefined;
  }
}

if (require.main === module) {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv);
  } catch (err) {
    const code = (err as { exitCode?: number }).exitCode;
    if (code === undefined) process.stderr.write(`bench: ${(err as Error).message}\n`);
    process.exit(code ?? 2);
  }
  main(options).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}

export { main };
