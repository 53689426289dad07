import * as grpc from '@grpc/grpc-js';
import { FakeAuthenticator } from '../helpers/fake-auth';
import { bearer, exportOutcome, request, sessionsWithMessages, streamOutcome } from '../helpers/protect-client';
import { RecordingHandlers } from '../helpers/recording-handlers';
import { startTestApp, type TestApp } from '../helpers/test-app';

describe('per-collector rate limits', () => {
  let t: TestApp;
  const auth = new FakeAuthenticator();
  const recorder = new RecordingHandlers(() => t.app.database.db);

  beforeAll(async () => {
    t = await startTestApp(
      {
        RATE_LIMIT_REQUESTS_PER_MIN: '3',
        RATE_LIMIT_REQUESTS_BURST: '2',
        RATE_LIMIT_MESSAGES_PER_MIN: '100',
        RATE_LIMIT_MESSAGES_BURST: '0',
      },
      { authenticator: auth, ingestionHandlers: recorder.handlers },
    );
  });
  afterAll(async () => {
    await t.close();
  });

  test('requests over the limit plus burst get RESOURCE_EXHAUSTED with a decodable RetryInfo, and write nothing', async () => {
    const { token, caller } = await auth.seedCaller(t.app.database.db, 'requests');
    const md = bearer(token);
    for (let i = 0; i < 5; i++) {
      const ok = await exportOutcome(t.ingestion, request(`req-ok-${i}`, []), md);
      expect(ok.code).toBe(grpc.status.OK);
    }
    const before = recorder.calls;
    const refused = await exportOutcome(t.ingestion, request('req-refused', sessionsWithMessages(2)), md);
    expect(refused.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.details).toContain(caller.collectorId);
    expect(refused.details).toContain(caller.collectorName);
    expect(refused.details).toContain('3 requests/min');
    expect(refused.statusDetails?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.statusDetails?.retryDelayMs).toBeGreaterThan(0);
    expect(refused.statusDetails?.retryDelayMs).toBeLessThanOrEqual(60_000);
    expect(recorder.calls).toBe(before);
    expect(await recorder.rows('req-refused')).toBe(0);
  });

  test('limits are per collector: another collector is unaffected', async () => {
    const a = await auth.seedCaller(t.app.database.db, 'noisy');
    const b = await auth.seedCaller(t.app.database.db, 'quiet');
    for (let i = 0; i < 5; i++) await exportOutcome(t.ingestion, request(`noisy-${i}`, []), bearer(a.token));
    expect((await exportOutcome(t.ingestion, request('noisy-x', []), bearer(a.token))).code).toBe(
      grpc.status.RESOURCE_EXHAUSTED,
    );
    expect((await exportOutcome(t.ingestion, request('quiet-1', []), bearer(b.token))).code).toBe(grpc.status.OK);
  });

  test('messages are counted up front; a refused batch costs neither messages nor a request', async () => {
    const { token, caller } = await auth.seedCaller(t.app.database.db, 'messages');
    const md = bearer(token);
    expect((await exportOutcome(t.ingestion, request('m-1', sessionsWithMessages(60)), md)).code).toBe(grpc.status.OK);
    const refused = await exportOutcome(t.ingestion, request('m-2', sessionsWithMessages(60)), md);
    expect(refused.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.details).toContain(caller.collectorId);
    expect(refused.details).toContain('100 messages/min');
    expect(refused.statusDetails?.retryDelayMs).toBeGreaterThan(0);
    expect(await recorder.rows('m-2')).toBe(0);
    // The refusal cost nothing: 40 messages and 2 requests (of 3) are still left.
    expect((await exportOutcome(t.ingestion, request('m-3', sessionsWithMessages(40)), md)).code).toBe(grpc.status.OK);
    expect((await exportOutcome(t.ingestion, request('m-4', []), md)).code).toBe(grpc.status.OK);
    expect((await exportOutcome(t.ingestion, request('m-5', sessionsWithMessages(1)), md)).code).toBe(
      grpc.status.RESOURCE_EXHAUSTED,
    );
  });

  test('a batch larger than the whole limit is refused without RetryInfo, telling the client to split it', async () => {
    const { token } = await auth.seedCaller(t.app.database.db, 'huge');
    const refused = await exportOutcome(t.ingestion, request('huge-1', sessionsWithMessages(150)), bearer(token));
    expect(refused.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.details).toMatch(/150 messages exceeds .*100 messages\/min.*smaller batches/);
    expect(refused.statusDetails).toBeUndefined();
    expect(await recorder.rows('huge-1')).toBe(0);
  });

  test("a collector's own limits (collectors.rate_limit_*) override the defaults", async () => {
    const { token, caller } = await auth.seedCaller(t.app.database.db, 'override', {
      requestsPerMin: 1,
      messagesPerMin: 10_000,
    });
    const md = bearer(token);
    // Burst scales with the override: 2 * 1 / 3 rounds to 1.
    expect((await exportOutcome(t.ingestion, request('o-1', sessionsWithMessages(500)), md)).code).toBe(grpc.status.OK);
    expect((await exportOutcome(t.ingestion, request('o-2', []), md)).code).toBe(grpc.status.OK);
    const refused = await exportOutcome(t.ingestion, request('o-3', []), md);
    expect(refused.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.details).toContain(`${caller.collectorId}`);
    expect(refused.details).toContain('1 requests/min');
  });

  test('streams are charged per chunk as the handler reads them', async () => {
    const { token } = await auth.seedCaller(t.app.database.db, 'stream');
    const md = bearer(token);
    md.set('x-batch-id', 'stream-a');
    const result = await streamOutcome(
      t.ingestion,
      [sessionsWithMessages(50), sessionsWithMessages(50), sessionsWithMessages(50)],
      md,
    );
    expect(result.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(result.details).toContain('100 messages/min');
    expect(result.statusDetails?.retryDelayMs).toBeGreaterThan(0);
    // The first two chunks fit the limit and were handled; the third was refused before the handler saw it.
    expect(await recorder.rows('stream-a#1')).toBe(1);
    expect(await recorder.rows('stream-a#2')).toBe(1);
    expect(await recorder.rows('stream-a#3')).toBe(0);
  });
});

describe('bursts that follow the rate when RATE_LIMIT_*_BURST is not set', () => {
  let t: TestApp;
  const auth = new FakeAuthenticator();

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_REQUESTS_PER_MIN: '5' }, { authenticator: auth });
  });
  afterAll(async () => {
    await t.close();
  });

  test('RATE_LIMIT_REQUESTS_PER_MIN=5 and no burst: 16 calls in a row include RESOURCE_EXHAUSTED with RetryInfo (5 + 2 minutes\' worth pass)', async () => {
    expect(t.config.protect.rateLimits.requestsBurst).toBe(10);
    const { token } = await auth.seedCaller(t.app.database.db, 'derived');
    const codes: grpc.status[] = [];
    let last;
    for (let i = 0; i < 16; i++) {
      last = await exportOutcome(t.ingestion, request(`d-${i}`, []), bearer(token));
      codes.push(last.code);
    }
    expect(codes.slice(0, 15).every((c) => c === grpc.status.OK)).toBe(true);
    expect(codes[15]).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(last?.details).toContain('5 requests/min (burst 10 per 10 min)');
    expect(last?.statusDetails?.retryDelayMs).toBeGreaterThan(0);
  });
});
