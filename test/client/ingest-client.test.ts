import * as grpc from '@grpc/grpc-js';
import { IngestClient } from '../../src/client';
import type { IngestClientOptions } from '../../src/client/types';
import { FaultServer } from '../helpers/fault-server';
import { makeSession } from '../helpers/session-factory';

describe('IngestClient retries against a fault-injecting server', () => {
  let server: FaultServer;
  const clients: IngestClient[] = [];
  let sleeps: number[];

  beforeAll(async () => {
    server = await new FaultServer().start();
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(() => {
    server.reset();
    sleeps = [];
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  function client(options: Partial<IngestClientOptions> = {}): IngestClient {
    const c = new IngestClient({
      address: server.address,
      apiKey: 'cs_live_test_key',
      retryEnv: { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 },
      ...options,
    });
    clients.push(c);
    return c;
  }

  const sessions = (n: number, prefix = 's') => Array.from({ length: n }, (_, i) => makeSession(`${prefix}-${i}`));

  test('retries UNAVAILABLE with the same batch_id and reports each session', async () => {
    server.failNext({ code: grpc.status.UNAVAILABLE }, { code: grpc.status.UNAVAILABLE });
    const report = await client().exportSessions(sessions(3));

    expect(server.calls).toHaveLength(3);
    const ids = new Set(server.calls.map((c) => c.batchId));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(report.counts).toEqual({ created: 3, updated: 0, duplicate: 0, failed: 0 });
    expect(report.results.map((r) => [r.sessionId, r.status, r.batchId])).toEqual([
      ['s-0', 'created', [...ids][0]],
      ['s-1', 'created', [...ids][0]],
      ['s-2', 'created', [...ids][0]],
    ]);
    expect(report.batches).toEqual([expect.objectContaining({ attempts: 3, status: 'BATCH_STATUS_ACCEPTED', sessions: 3 })]);
    // Full-jitter exponential backoff: random 0.5 of 200 ms, then of 400 ms.
    expect(sleeps).toEqual([100, 200]);
  });

  test('sends the API key as authorization: Bearer metadata', async () => {
    await client().exportSessions(sessions(1));
    expect(server.calls[0].authorization).toBe('Bearer cs_live_test_key');
  });

  test('honours RetryInfo on RESOURCE_EXHAUSTED through the injected sleep', async () => {
    server.failNext({ code: grpc.status.RESOURCE_EXHAUSTED, retryDelayMs: 7_250 });
    const retries: number[] = [];
    const report = await client({
      retryEnv: { sleep: async (ms) => void sleeps.push(ms), random: () => 0 },
      onRetry: (e) => retries.push(e.retryInfoDelayMs ?? -1),
    }).exportSessions(sessions(2));

    expect(sleeps).toEqual([7_250]);
    expect(retries).toEqual([7_250]);
    expect(server.calls.map((c) => c.batchId)).toEqual([server.calls[0].batchId, server.calls[0].batchId]);
    expect(report.counts.created).toBe(2);
  });

  test('jitter never shortens a RetryInfo delay', async () => {
    server.failNext({ code: grpc.status.UNAVAILABLE, retryDelayMs: 2_000 });
    await client({ retryEnv: { sleep: async (ms) => void sleeps.push(ms), random: () => 0.99 } }).exportSessions(sessions(1));
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(2_000);
    expect(sleeps[0]).toBeLessThanOrEqual(2_400);
  });

  test('retries DEADLINE_EXCEEDED when the server does not answer in time', async () => {
    server.failNext({ code: grpc.status.OK, hang: true });
    const report = await client({ deadlineMs: 300 }).exportSessions(sessions(2));
    expect(server.calls).toHaveLength(2);
    expect(server.calls[1].batchId).toBe(server.calls[0].batchId);
    expect(report.counts.created).toBe(2);
  });

  test('a lost answer is retried with the same batch_id, which the server replays: nothing stored twice', async () => {
    server.failNext({ code: grpc.status.UNAVAILABLE, afterProcessing: true });
    const report = await client().exportSessions(sessions(4));
    expect(server.calls).toHaveLength(2);
    expect(server.calls[1].batchId).toBe(server.calls[0].batchId);
    expect([...server.stored.values()]).toEqual([1, 1, 1, 1]);
    expect(report.counts).toEqual({ created: 4, updated: 0, duplicate: 0, failed: 0 });
  });

  test.each(
    (['INVALID_ARGUMENT', 'UNAUTHENTICATED', 'PERMISSION_DENIED', 'ALREADY_EXISTS', 'ABORTED', 'INTERNAL'] as const).map(
      (name) => [name, grpc.status[name]] as const,
    ),
  )('does not retry %s and reports every session of the batch failed', async (_name, code) => {
    server.failNext({ code, retryDelayMs: 10 });
    const report = await client().exportSessions(sessions(2));
    expect(server.calls).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(report.counts).toEqual({ created: 0, updated: 0, duplicate: 0, failed: 2 });
    expect(report.results[0].error).toEqual({ source: 'rpc', code: grpc.status[code], message: `injected ${grpc.status[code]}` });
    expect(report.batches[0]).toMatchObject({ attempts: 1, error: { code: grpc.status[code] } });
  });

  test('gives up after maxAttempts and reports the last status', async () => {
    server.failNext(...Array.from({ length: 10 }, () => ({ code: grpc.status.UNAVAILABLE })));
    const report = await client({ retry: { maxAttempts: 3 } }).exportSessions(sessions(1));
    expect(server.calls).toHaveLength(3);
    expect(new Set(server.calls.map((c) => c.batchId)).size).toBe(1);
    expect(sleeps).toHaveLength(2);
    expect(report.results[0]).toMatchObject({ status: 'failed', error: { source: 'rpc', code: 'UNAVAILABLE' } });
  });

  test('each batch gets its own batch_id, kept across that batch’s retries', async () => {
    server.failNext({ code: grpc.status.UNAVAILABLE });
    const report = await client({ limits: { maxSessions: 2 } }).exportSessions(sessions(5));
    expect(server.calls.map((c) => c.sessionIds)).toEqual([['s-0', 's-1'], ['s-0', 's-1'], ['s-2', 's-3'], ['s-4']]);
    const [a, b, c, d] = server.calls.map((x) => x.batchId);
    expect(b).toBe(a);
    expect(new Set([a, c, d]).size).toBe(3);
    expect(report.batches.map((x) => x.attempts)).toEqual([2, 1, 1]);
    expect(report.counts.created).toBe(5);
  });

  test('the stream keeps one x-batch-id across retries and sends SessionBatch chunks', async () => {
    server.failNext({ code: grpc.status.UNAVAILABLE }, { code: grpc.status.RESOURCE_EXHAUSTED, retryDelayMs: 1_500 });
    const report = await client({ streamChunkSessions: 4, retryEnv: { sleep: async (ms) => void sleeps.push(ms), random: () => 0 } })
      .exportSessionsStream(sessions(10));

    expect(server.calls.map((c) => c.method)).toEqual(['stream', 'stream', 'stream']);
    expect(new Set(server.calls.map((c) => c.batchId)).size).toBe(1);
    expect(server.calls[0].batchId).toMatch(/^[0-9a-f-]{36}$/);
    expect(server.calls.every((c) => c.chunks === 3 && c.sessionIds.length === 10)).toBe(true);
    expect(sleeps).toEqual([0, 1_500]);
    expect(report.counts.created).toBe(10);
    expect(report.results.map((r) => r.index)).toEqual([...Array(10).keys()]);
  });

  test('the stream does not retry INVALID_ARGUMENT', async () => {
    server.failNext({ code: grpc.status.INVALID_ARGUMENT });
    const report = await client().exportSessionsStream(sessions(3));
    expect(server.calls).toHaveLength(1);
    expect(report.counts.failed).toBe(3);
  });

  test('channel mode: grpc-js retry policy resends the same batch_id, not INVALID_ARGUMENT', async () => {
    const c = client({ retryMode: 'channel', retry: { initialBackoffMs: 10, maxBackoffMs: 20 } });
    server.failNext({ code: grpc.status.UNAVAILABLE }, { code: grpc.status.UNAVAILABLE });
    const ok = await c.exportSessions(sessions(2));
    expect(server.calls).toHaveLength(3);
    expect(new Set(server.calls.map((x) => x.batchId)).size).toBe(1);
    expect(ok.counts.created).toBe(2);
    expect(sleeps).toEqual([]); // grpc-js waited, not the app

    server.reset();
    server.failNext({ code: grpc.status.INVALID_ARGUMENT });
    const bad = await c.exportSessions(sessions(1, 'bad'));
    expect(server.calls).toHaveLength(1);
    expect(bad.counts.failed).toBe(1);
  });

  test('channel mode also retries a batch larger than grpc-js’s default 1 MiB retry buffer', async () => {
    const c = client({ retryMode: 'channel', retry: { initialBackoffMs: 10, maxBackoffMs: 20 } });
    server.failNext({ code: grpc.status.UNAVAILABLE });
    const report = await c.exportSessions([makeSession('big-1', 2, 1024 * 1024), makeSession('big-2', 1, 512 * 1024)]);
    expect(server.calls).toHaveLength(2);
    expect(server.calls[0].bytes).toBeGreaterThan(2 * 1024 * 1024);
    expect(server.calls[1].batchId).toBe(server.calls[0].batchId);
    expect(report.counts.created).toBe(2);
  });
});
