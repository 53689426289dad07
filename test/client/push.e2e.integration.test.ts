/**
 * End to end: the push command and the client against the real app (real
 * server, real ExportSessions, real database), with the fake authenticator.
 */
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { IngestClient } from '../../src/client';
import { readTranscript } from '../../src/push/claude-code/jsonl.reader';
import { buildSessions } from '../../src/push/claude-code/session.builder';
import { sessionsFromJson } from '../../src/push/json-sessions';
import { type PushOptions, runPush } from '../../src/push/push.command';
import {
  type GetSessionResponse,
  type GetSessionStatusResponse,
  SessionQueryServiceClient,
} from '../../generated/catsyphon/ingest/v1/query';
import { Assistant, PlanStatus, type Session } from '../../generated/catsyphon/telemetry/v1/sessions';
import { CaptureStream } from '../helpers/capture-stream';
import { FakeAuthenticator } from '../helpers/fake-auth';
import { FaultServer } from '../helpers/fault-server';
import { makeSession } from '../helpers/session-factory';
import { startTestApp, type TestApp } from '../helpers/test-app';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
const FIXTURES = join(__dirname, '..', 'fixtures', 'claude-code');

/** The sessions the examples hold, parsed the way push parses them (no state file). */
function exampleSessions(): Session[] {
  const json = ['codex-session.json', 'export-request.json'].flatMap((f) =>
    sessionsFromJson(readFileSync(join(EXAMPLES, 'json', f), 'utf8')),
  );
  const dir = join(EXAMPLES, 'claude-code', '-home-maya-src-shop');
  const files = ['0b6f1d2e-8c3a-4f5b-9e7d-1a2b3c4d5e6f.jsonl', 'agent-5e7a9c21.jsonl'].map((f) =>
    readTranscript(join(dir, f), readFileSync(join(dir, f))),
  );
  return [...json, ...buildSessions(files).sessions];
}

describe('push end to end against the real app', () => {
  let t: TestApp;
  let token: string;
  let query: SessionQueryServiceClient;
  let dir: string;
  let clock = 1_800_000_000_000_000_000n;

  beforeAll(async () => {
    const authenticator = new FakeAuthenticator();
    t = await startTestApp({}, { authenticator });
    ({ token } = await authenticator.seedCaller(t.app.database.db, 'push-e2e'));
    query = new SessionQueryServiceClient(t.address, grpc.credentials.createInsecure());
    dir = mkdtempSync(join(tmpdir(), 'push-e2e-'));
  });
  afterAll(async () => {
    query.close();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const bearer = () => {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${token}`);
    return md;
  };
  const getSession = (sessionId: string, assistant: Assistant) =>
    new Promise<GetSessionResponse>((resolve, reject) =>
      query.getSession({ sessionId, assistant }, bearer(), (err, res) => (err ? reject(err) : resolve(res))),
    );
  const getStatus = (sessionId: string, assistant: Assistant) =>
    new Promise<GetSessionStatusResponse>((resolve, reject) =>
      query.getSessionStatus({ sessionId, assistant }, bearer(), (err, res) => (err ? reject(err) : resolve(res))),
    );

  async function push(paths: string[], extra: Partial<PushOptions> = {}) {
    const stdout = new CaptureStream();
    const stderr = new CaptureStream();
    const code = await runPush(
      {
        paths,
        server: t.address,
        apiKey: token,
        tls: false,
        json: true,
        maxSessionsPerBatch: 1000,
        maxBatchBytes: 4 * 1024 * 1024,
        stream: false,
        deadlineMs: undefined,
        maxAttempts: undefined,
        stateFile: join(dir, 'state.json'),
        ...extra,
      },
      { stdout, stderr, nowNs: () => (clock += 1_000_000_000n), client: { retryEnv: { sleep: async () => undefined } } },
    );
    return { code, out: JSON.parse(stdout.text()), stderr: stderr.text() };
  }

  test('pushes the samples; they read back exactly as sent; a re-push is only DUPLICATE', async () => {
    const first = await push([EXAMPLES], { stateFile: undefined });
    expect(first.stderr).toBe('');
    expect(first.out.errors).toEqual([]);
    expect(first.out.counts).toEqual({ created: 4, updated: 0, duplicate: 0, failed: 0 });
    expect(first.code).toBe(0);

    for (const sent of exampleSessions()) {
      const stored = await getSession(sent.id, sent.assistant);
      expect(stored.session).toEqual(sent);
      const result = first.out.results.find((r: { sessionId: string }) => r.sessionId === sent.id);
      expect(result.catsyphonId).toBe(stored.catsyphonId);
    }

    const again = await push([EXAMPLES], { stateFile: undefined });
    expect(again.code).toBe(0);
    expect(again.out.counts).toEqual({ created: 0, updated: 0, duplicate: 4, failed: 0 });
    expect(again.out.results.every((r: { messagesIngested: number }) => r.messagesIngested === 0)).toBe(true);
    expect(again.out.results.map((r: { catsyphonId: string }) => r.catsyphonId).sort()).toEqual(
      first.out.results.map((r: { catsyphonId: string }) => r.catsyphonId).sort(),
    );
  });

  test('a transcript that grows comes back UPDATED with only the new messages; the same file again is DUPLICATE', async () => {
    const transcript = join(dir, 'growing.jsonl');
    copyFileSync(join(FIXTURES, 'growing-part1.jsonl'), transcript);
    const sessionId = '3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d';

    const created = await push([transcript]);
    expect(created.out.results).toEqual([expect.objectContaining({ sessionId, status: 'created', messagesIngested: 2 })]);
    const before = await getSession(sessionId, Assistant.ASSISTANT_CLAUDE_CODE);

    const unchanged = await push([transcript]);
    expect(unchanged.out.counts).toEqual({ created: 0, updated: 0, duplicate: 1, failed: 0 });

    appendFileSync(transcript, readFileSync(join(FIXTURES, 'growing-part2.jsonl.txt')));
    const updated = await push([transcript]);
    expect(updated.code).toBe(0);
    expect(updated.out.results).toEqual([expect.objectContaining({ sessionId, status: 'updated', messagesIngested: 2, threadsIngested: 0 })]);

    const again = await push([transcript]);
    expect(again.out.counts).toEqual({ created: 0, updated: 0, duplicate: 1, failed: 0 });

    const after = await getSession(sessionId, Assistant.ASSISTANT_CLAUDE_CODE);
    const messages = after.session?.threads[0].messages ?? [];
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    expect(messages.slice(0, 2)).toEqual(before.session?.threads[0].messages);
    expect(messages[3].content).toBe('Added GET /healthz returning 200 {"ok":true}.');
    const status = await getStatus(sessionId, Assistant.ASSISTANT_CLAUDE_CODE);
    expect(status.messageCount).toBe(4n);
    expect(status.threads).toEqual([expect.objectContaining({ threadId: 'main', lastSeq: 4, messageCount: 4n })]);
  });

  test('plans from plan mode are stored, and a rejected plan turns ABANDONED once the transcript grows', async () => {
    const transcript = join(dir, 'plans.jsonl');
    const lines = readFileSync(join(FIXTURES, 'with-plans.jsonl'), 'utf8').split('\n').filter(Boolean);
    writeFileSync(transcript, `${lines.slice(0, 2).join('\n')}\n`);
    const proposed = await push([transcript], { stateFile: undefined });
    expect(proposed.out.counts.created).toBe(1);

    writeFileSync(transcript, `${lines.join('\n')}\n`);
    const answered = await push([transcript], { stateFile: undefined });
    expect(answered.out.results).toEqual([expect.objectContaining({ status: 'updated', messagesIngested: 3 })]);

    const expected = buildSessions([readTranscript(transcript, readFileSync(transcript))]).sessions[0];
    const stored = await getSession(expected.id, Assistant.ASSISTANT_CLAUDE_CODE);
    expect(stored.session).toEqual(expected);
    expect(stored.session?.plans.map((p) => [p.id, p.status])).toEqual([
      ['toolu_plan1', PlanStatus.PLAN_STATUS_ABANDONED],
      ['toolu_plan2', PlanStatus.PLAN_STATUS_ACTIVE],
    ]);
  });

  describe('through a lossy proxy (answers lost after the server stored the batch)', () => {
    let proxy: FaultServer;
    beforeAll(async () => {
      proxy = await new FaultServer({ forwardTo: t.address }).start();
    });
    afterAll(async () => {
      await proxy.stop();
    });
    beforeEach(() => proxy.reset());

    const client = () =>
      new IngestClient({ address: proxy.address, apiKey: token, retryEnv: { sleep: async () => undefined }, limits: { maxSessions: 2 } });

    test('the unary retry reuses the batch_id: the server replays, nothing is stored twice', async () => {
      const sessions = [makeSession('lossy-1', 3), makeSession('lossy-2', 5), makeSession('lossy-3', 2)];
      proxy.failNext({ code: grpc.status.UNAVAILABLE, afterProcessing: true }, { code: grpc.status.DEADLINE_EXCEEDED, afterProcessing: true });
      const c = client();
      try {
        const report = await c.exportSessions(sessions);
        expect(report.counts).toEqual({ created: 3, updated: 0, duplicate: 0, failed: 0 });
        expect(report.batches.map((b) => b.attempts)).toEqual([3, 1]);
        expect(proxy.calls.map((x) => x.batchId)).toEqual([
          report.batches[0].batchId,
          report.batches[0].batchId,
          report.batches[0].batchId,
          report.batches[1].batchId,
        ]);
        for (const s of sessions) {
          const status = await getStatus(s.id, s.assistant);
          expect(status.messageCount).toBe(BigInt(s.threads[0].messages.length));
        }
        const again = await c.exportSessions(sessions);
        expect(again.counts).toEqual({ created: 0, updated: 0, duplicate: 3, failed: 0 });
      } finally {
        c.close();
      }
    });

    test('the stream retry reuses x-batch-id: nothing is stored twice', async () => {
      const sessions = Array.from({ length: 5 }, (_, i) => makeSession(`lossy-stream-${i}`, 4));
      proxy.failNext({ code: grpc.status.UNAVAILABLE, afterProcessing: true });
      const c = client();
      try {
        const report = await c.exportSessionsStream(sessions);
        expect(report.counts.created).toBe(5);
        expect(proxy.calls).toHaveLength(2);
        expect(proxy.calls[1].batchId).toBe(proxy.calls[0].batchId);
        for (const s of sessions) expect((await getStatus(s.id, s.assistant)).messageCount).toBe(4n);
      } finally {
        c.close();
      }
    });

    test('a wrong API key is UNAUTHENTICATED and not retried', async () => {
      const c = new IngestClient({ address: proxy.address, apiKey: 'cs_live_wrong', retryEnv: { sleep: async () => undefined } });
      try {
        const report = await c.exportSessions([makeSession('never-stored')]);
        expect(report.results[0]).toMatchObject({ status: 'failed', error: { source: 'rpc', code: 'UNAUTHENTICATED' } });
        expect(proxy.calls).toHaveLength(1);
      } finally {
        c.close();
      }
    });
  });
});
