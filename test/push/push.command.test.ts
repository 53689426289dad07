import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { buildReport } from '../../src/client/results';
import type { OutcomeStatus, SessionOutcome } from '../../src/client/types';
import { type PushOptions, runPush } from '../../src/push/push.command';
import { formatSummary } from '../../src/push/summary';
import { CaptureStream } from '../helpers/capture-stream';
import { FaultServer } from '../helpers/fault-server';

const ROOT = join(__dirname, '..', '..');
const EXAMPLES = join(ROOT, 'examples');
const FIXTURES = join(__dirname, '..', 'fixtures', 'claude-code');

describe('catsyphon-ingest push (against a fault-injecting server)', () => {
  let server: FaultServer;
  let dir: string;
  beforeAll(async () => {
    server = await new FaultServer().start();
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(() => {
    server.reset();
    dir = mkdtempSync(join(tmpdir(), 'push-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function options(paths: string[], extra: Partial<PushOptions> = {}): PushOptions {
    return {
      paths,
      server: server.address,
      apiKey: 'cs_live_push_test',
      tls: false,
      json: false,
      maxSessionsPerBatch: 1000,
      maxBatchBytes: 4 * 1024 * 1024,
      stream: false,
      deadlineMs: undefined,
      maxAttempts: undefined,
      stateFile: join(dir, 'state.json'),
      ...extra,
    };
  }

  async function push(paths: string[], extra: Partial<PushOptions> = {}, stderr = new CaptureStream(), flushBytes?: number) {
    const stdout = new CaptureStream();
    const sleeps: number[] = [];
    const code = await runPush(options(paths, extra), {
      stdout,
      stderr,
      flushBytes,
      nowNs: () => 1_800_000_000_000_000_000n,
      client: { retryEnv: { sleep: async (ms) => void sleeps.push(ms), random: () => 0 } },
    });
    return { code, stdout: stdout.text(), stderr: stderr.text(), sleeps };
  }

  test('pushes the examples (JSON and a Claude Code project directory) and prints the summary table', async () => {
    const { code, stdout, stderr } = await push([EXAMPLES]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(server.calls).toHaveLength(1);
    expect(server.calls[0].authorization).toBe('Bearer cs_live_push_test');
    expect(server.calls[0].sessionIds.sort()).toEqual(
      ['0b6f1d2e-8c3a-4f5b-9e7d-1a2b3c4d5e6f', 'aider-2025-12-11-1432', 'codex-7f3e2a10-5c4b-4d8e-9a61-0b2c3d4e5f60', 'cursor-composer-5d1e'].sort(),
    );
    expect(stdout.split('\n')[0]).toMatch(/^status\s+sessions\s+new messages\s+new threads$/);
    expect(stdout).toMatch(/^created\s+4\s+26\s+6$/m); // 7+3+5+11 messages, 1+1+2+2 threads
    expect(stdout).toMatch(/^duplicate\s+0\s+0\s+0$/m);
    expect(stdout).toMatch(/^failed\s+0\s+0\s+0$/m);
    expect(stdout).toMatch(/^total\s+4\s/m);
  });

  test('--json prints one JSON object; a retried batch keeps its batch_id', async () => {
    server.failNext({ code: grpc.status.UNAVAILABLE, retryDelayMs: 1_000 });
    const { code, stdout, stderr, sleeps } = await push([join(EXAMPLES, 'json')], { json: true });
    expect(code).toBe(0);
    expect(sleeps).toEqual([1_000]);
    expect(stderr).toMatch(/UNAVAILABLE \(injected UNAVAILABLE\), attempt 1, retrying in 1000 ms/);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const out = JSON.parse(stdout);
    expect(out).toMatchObject({ ok: true, files: 2, sessions: 3, counts: { created: 3, updated: 0, duplicate: 0, failed: 0 }, errors: [] });
    expect(out.batches).toEqual([expect.objectContaining({ attempts: 2, status: 'BATCH_STATUS_ACCEPTED' })]);
    expect(server.calls[0].batchId).toBe(server.calls[1].batchId);
    expect(out.results.every((r: { batchId: string }) => r.batchId === server.calls[0].batchId)).toBe(true);
  });

  test('exits non-zero when the server refuses the batch, listing each failed session', async () => {
    server.failNext({ code: grpc.status.PERMISSION_DENIED });
    const { code, stdout } = await push([join(EXAMPLES, 'json', 'codex-session.json')]);
    expect(code).toBe(1);
    expect(server.calls).toHaveLength(1);
    expect(stdout).toMatch(/^failed\s+1\s/m);
    expect(stdout).toContain('failed (1 session, the call failed): PERMISSION_DENIED injected PERMISSION_DENIED');
  });

  test('malformed transcript lines are warnings (exit 0); unreadable inputs are errors (exit 1)', async () => {
    const ok = await push([join(FIXTURES, 'malformed-lines.jsonl')]);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/^warning: malformed-lines\.jsonl:2: skipped malformed line/m);
    expect(ok.stderr).toMatch(/^warning: malformed-lines\.jsonl:4: skipped malformed line/m);

    writeFileSync(join(dir, 'broken.json'), '{"id": ');
    const bad = await push([join(dir, 'broken.json'), join(dir, 'missing.jsonl')], { json: true });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: .*broken\.json: /m);
    expect(bad.stderr).toMatch(/^error: .*missing\.jsonl: no such file or directory/m);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, sessions: 0 });
    expect(server.calls).toHaveLength(1); // only the first push reached the server
  });

  test('an empty directory is an error', async () => {
    const { code, stdout } = await push([dir], { json: true });
    expect(code).toBe(1);
    expect(JSON.parse(stdout).errors).toEqual(['no .json or .jsonl files found']);
  });

  test('shows a progress bar on a terminal when there are many files, and none otherwise', async () => {
    for (let i = 0; i < 25; i++) copyFileSync(join(FIXTURES, 'minimal-session.jsonl'), join(dir, `s${i}.jsonl`));
    const tty = await push([dir], { stateFile: undefined }, new CaptureStream(true));
    expect(tty.code).toBe(0);
    expect(tty.stderr).toContain('pushing [');
    expect(tty.stderr).toContain('] 25/25');
    const pipe = await push([dir], { stateFile: undefined }, new CaptureStream(false));
    expect(pipe.stderr).toBe('');
  });

  test('reads and sends a session at a time: an agent file in another directory still joins its session', async () => {
    mkdirSync(join(dir, 'project', 'subagents'), { recursive: true });
    copyFileSync(join(FIXTURES, 'with-agent-spawn.jsonl'), join(dir, 'project', 'main.jsonl'));
    copyFileSync(join(FIXTURES, 'agent-a1234567.jsonl'), join(dir, 'project', 'subagents', 'agent-a1234567.jsonl'));
    copyFileSync(join(FIXTURES, 'minimal-session.jsonl'), join(dir, 'project', 'minimal.jsonl'));
    copyFileSync(join(FIXTURES, 'with-tool-calls.jsonl'), join(dir, 'z-tools.jsonl'));
    const { code, stdout } = await push([join(EXAMPLES, 'json', 'codex-session.json'), dir], { json: true }, new CaptureStream(), 1);
    expect(code).toBe(0);
    // One flush per JSON file or session: four calls, each with one session.
    expect(server.calls.map((c) => c.sessionIds)).toEqual([
      ['codex-7f3e2a10-5c4b-4d8e-9a61-0b2c3d4e5f60'],
      ['test-session-003'],
      ['test-session-001'],
      ['test-session-002'],
    ]);
    const out = JSON.parse(stdout);
    expect(out.results.map((r: { sessionId: string }) => r.sessionId)).toEqual(server.calls.map((c) => c.sessionIds[0]));
    expect(out.batches).toHaveLength(4);
    expect(server.stored.get('test-session-003')).toBe(1);
    expect(out.results[1]).toMatchObject({ status: 'created', messagesIngested: 8, threadsIngested: 2 });
  });

  test('--stream sends one ExportSessionsStream call', async () => {
    const { code } = await push([EXAMPLES], { stream: true });
    expect(code).toBe(0);
    expect(server.calls.map((c) => [c.method, c.sessionIds.length])).toEqual([['stream', 4]]);
    expect(server.calls[0].batchId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('the summary table', () => {
  const outcome = (i: number, status: OutcomeStatus, error?: SessionOutcome['error']): SessionOutcome => ({
    index: i,
    sessionId: `s-${i}`,
    status,
    batchId: 'b',
    catsyphonId: undefined,
    messagesIngested: status === 'created' ? 3 : 0,
    threadsIngested: status === 'created' ? 1 : 0,
    error,
  });

  test('counts each outcome, groups whole-call failures and caps the per-session list', () => {
    const results = [
      outcome(0, 'created'),
      outcome(1, 'duplicate'),
      ...Array.from({ length: 3 }, (_, i) => outcome(2 + i, 'failed', { source: 'rpc', code: 'UNAVAILABLE', message: 'down' })),
      ...Array.from({ length: 22 }, (_, i) =>
        outcome(5 + i, 'failed', { source: 'server', code: 'ERROR_CODE_VALIDATION', message: 'seq must be >= 1', field: `sessions[${i}].threads[0].messages[0].seq` }),
      ),
    ];
    const text = formatSummary(buildReport(results, []));
    expect(text).toMatch(/^created\s+1\s+3\s+1$/m);
    expect(text).toMatch(/^duplicate\s+1\s+0\s+0$/m);
    expect(text).toMatch(/^failed\s+25\s+0\s+0$/m);
    expect(text).toMatch(/^total\s+27\s+3\s+1$/m);
    expect(text).toContain('failed (3 sessions, the call failed): UNAVAILABLE down');
    expect(text).toContain('failed s-5: ERROR_CODE_VALIDATION seq must be >= 1 at sessions[0].threads[0].messages[0].seq');
    expect(text.match(/^failed s-/gm)).toHaveLength(20);
    expect(text).toContain('... and 2 more failed sessions (--json lists them all)');
  });
});
