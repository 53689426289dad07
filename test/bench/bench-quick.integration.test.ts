import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchResults } from '../../bench/report';
import { postgresAdminUrl, postgresServer, requires } from '../helpers/requirements';

/**
 * Runs `npm run bench -- --quick` end to end: a real server process, a forked
 * load client, the COPY and INSERT baselines, all on real PostgreSQL
 * (TEST_DATABASE_URL, else the local default, skipped when there is none; the
 * bench creates and drops its own database). It checks that every figure was
 * produced, never how fast anything was.
 */
const ROOT = path.resolve(__dirname, '../..');
const RUN = path.join(ROOT, 'dist', 'bench', 'run.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

/** dist/ is built by `npm install` (prepare); rebuild only when a source is newer. */
function ensureBuilt(): void {
  const sources = Math.max(...['src', 'bench', 'generated'].map((d) => newestSource(path.join(ROOT, d))));
  if (existsSync(RUN) && statSync(RUN).mtimeMs >= sources) return;
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
}

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const adminUrl = postgresAdminUrl() ?? '';
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUN, ...args, '--db-url', adminUrl], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

requires([postgresServer()]).describe('npm run bench -- --quick', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-quick-'));
  beforeAll(ensureBuilt, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('produces every figure, prints the table and writes the JSON', async () => {
    const out = path.join(dir, 'latest.json');
    const { code, stdout, stderr } = await runBench(['--quick', '--out', out]);
    if (code !== 0) throw new Error(`bench exited ${code}\n${stdout}\n${stderr}`);

    const results = JSON.parse(readFileSync(out, 'utf8')) as BenchResults;
    expect(results.quick).toBe(true);
    expect(results.ingest.map((i) => i.concurrency)).toEqual([1, 4, 16]);
    for (const i of results.ingest) {
      expect(i.errors).toBe(0);
      expect(i.messagesPerS).toBeGreaterThan(0);
      expect(i.latencyMs.p99).toBeGreaterThanOrEqual(i.latencyMs.p50);
      expect(i.serverCpuSPer1kMsgs).toBeGreaterThan(0);
      expect(i.serverPeakRssMiB).toBeGreaterThan(0);
    }
    expect(results.baseline.copy?.rowsPerS).toBeGreaterThan(0);
    expect(results.baseline.insert?.rowsPerS).toBeGreaterThan(0);
    expect(results.stages?.map((x) => x.stage)).toContain('binary COPY payload of the messages (encodeMessages)');
    expect(results.stages?.every((x) => x.usPerMsg > 0)).toBe(true);
    expect(results.replay?.callsPerS).toBeGreaterThan(0);
    expect(results.auth?.callsPerS).toBeGreaterThan(0);
    expect(results.otlp).toMatchObject({ concurrency: 16, errors: 0 });
    expect(results.otlp?.messagesPerS).toBeGreaterThan(0);
    expect(results.ratios.every((r) => Number.isFinite(r.vsCopy) && Number.isFinite(r.vsInsert) && r.cpuVsCopy > 0)).toBe(true);
    expect(results.targets.map((t) => t.name)).toHaveLength(4);
    expect(stdout).toContain('ingest c16');
    expect(stdout).toContain('otlp logs c16 (records)');
    expect(stdout).toContain('baseline binary COPY');
  }, 180_000);

  test('--client library drives the ingest phase through the project\'s IngestClient', async () => {
    const out = path.join(dir, 'library.json');
    const { code, stdout, stderr } = await runBench(['--quick', '--phases', 'ingest', '--concurrency', '4', '--client', 'library', '--out', out]);
    if (code !== 0) throw new Error(`bench exited ${code}\n${stdout}\n${stderr}`);
    const results = JSON.parse(readFileSync(out, 'utf8')) as BenchResults;
    expect(results.load).toEqual({ client: 'library', channels: 4 });
    expect(results.ingest).toHaveLength(1);
    expect(results.ingest[0].errors).toBe(0);
    expect(results.ingest[0].messagesPerS).toBeGreaterThan(0);
    expect(stdout).toContain('load: library client, 4 connections');
  }, 180_000);

  test('an invalid flag is refused before any database is created', async () => {
    const { code, stderr } = await runBench(['--quick', '--concurrency', 'x']);
    expect(code).not.toBe(0);
    expect(stderr).toContain('expected a whole number');
  }, 60_000);
});
