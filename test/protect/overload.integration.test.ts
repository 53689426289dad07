import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { ExportSessionsRequest } from '../../generated/catsyphon/telemetry/v1/sessions';
import { FakeAuthenticator } from '../helpers/fake-auth';
import { bearer, exportOutcome, request, sessionsWithMessages } from '../helpers/protect-client';
import { RecordingHandlers } from '../helpers/recording-handlers';
import { deltas, scrapeMetrics } from '../helpers/scrape-metrics';
import { startTestApp, type TestApp } from '../helpers/test-app';

const run = promisify(execFile);
const OVERLOADS = 'catsyphon_ingest_overload_rejections_total';

describe('overload: caps on work in flight', () => {
  let t: TestApp;
  let token: string;
  const auth = new FakeAuthenticator();
  const recorder = new RecordingHandlers(() => t.app.database.db);

  beforeAll(async () => {
    t = await startTestApp(
      { MAX_CONCURRENT_INGESTIONS: '3', MAX_BUFFERED_MESSAGES: '100', OVERLOAD_RETRY_DELAY_MS: '2s' },
      { authenticator: auth, ingestionHandlers: recorder.handlers },
    );
    ({ token } = await auth.seedCaller(t.app.database.db, 'overload'));
  });
  afterAll(async () => {
    recorder.open();
    await t.close();
  });

  test('past MAX_CONCURRENT_INGESTIONS a call gets UNAVAILABLE with RetryInfo; slots free up afterwards', async () => {
    recorder.close();
    const before = await scrapeMetrics(t);
    const start = recorder.entered;
    const held = [1, 2, 3].map((i) => exportOutcome(t.ingestion, request(`held-${i}`, []), bearer(token)));
    await recorder.whenEntered(start + 3);
    expect(t.app.protection.admission.inFlightCalls).toBe(3);

    const shed = await exportOutcome(t.ingestion, request('shed', []), bearer(token));
    expect(shed.code).toBe(grpc.status.UNAVAILABLE);
    expect(shed.details).toContain('MAX_CONCURRENT_INGESTIONS');
    expect(shed.statusDetails?.retryDelayMs).toBe(2_000);
    expect(await recorder.rows('shed')).toBe(0);
    expect(deltas(before, await scrapeMetrics(t))(OVERLOADS)).toBe(1);
    // Health and other services are not ingestion calls: they still answer.
    expect(await t.health()).toBe('SERVING');

    recorder.open();
    for (const result of await Promise.all(held)) expect(result.code).toBe(grpc.status.OK);
    expect(t.app.protection.admission.inFlightCalls).toBe(0);
    expect((await exportOutcome(t.ingestion, request('after-shed', []), bearer(token))).code).toBe(grpc.status.OK);
  });

  test('past MAX_BUFFERED_MESSAGES a call gets UNAVAILABLE with RetryInfo, before any work', async () => {
    recorder.close();
    const before = await scrapeMetrics(t);
    const start = recorder.entered;
    const big = exportOutcome(t.ingestion, request('buffered-80', sessionsWithMessages(80)), bearer(token));
    await recorder.whenEntered(start + 1);
    expect(t.app.protection.admission.bufferedMessages).toBe(80);

    const refused = await exportOutcome(t.ingestion, request('buffered-30', sessionsWithMessages(30)), bearer(token));
    expect(refused.code).toBe(grpc.status.UNAVAILABLE);
    expect(refused.details).toContain('MAX_BUFFERED_MESSAGES');
    expect(refused.statusDetails?.retryDelayMs).toBe(2_000);
    expect(await recorder.rows('buffered-30')).toBe(0);
    expect(deltas(before, await scrapeMetrics(t))(OVERLOADS)).toBe(1);

    const fits = exportOutcome(t.ingestion, request('buffered-20', sessionsWithMessages(20)), bearer(token));
    await recorder.whenEntered(start + 2);
    expect(t.app.protection.admission.bufferedMessages).toBe(100);

    recorder.open();
    expect((await big).code).toBe(grpc.status.OK);
    expect((await fits).code).toBe(grpc.status.OK);
    expect(t.app.protection.admission.bufferedMessages).toBe(0);
  });

  test('a flood of large calls is shed without reading their bodies: server RSS growth stays bounded', async () => {
    const calls = 200;
    const payloadBytes = 2 * 1024 * 1024;
    const dir = mkdtempSync(path.join(tmpdir(), 'flood-'));
    try {
      const req = request('flood', sessionsWithMessages(1));
      req.sessions[0].threads[0].messages[0].content = 'x'.repeat(payloadBytes);
      const file = path.join(dir, 'payload.bin');
      writeFileSync(file, ExportSessionsRequest.encode(req).finish());

      recorder.close();
      const entered = recorder.entered;
      const shedBefore = t.app.protection.admission.shedCalls;
      const before = process.memoryUsage().rss;
      const flood = run(process.execPath, [path.join(__dirname, '../helpers/flood-client.js'), t.address, token, String(calls), file], {
        maxBuffer: 1 << 20,
      });
      let peak = process.memoryUsage().rss;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      let counts: Record<string, number>;
      try {
        // Three calls get in and wait at the gate; the rest are shed.
        await Promise.all([recorder.whenEntered(entered + 3), waitForShed(t, shedBefore + calls - 3)]);
        peak = Math.max(peak, process.memoryUsage().rss);
        recorder.open();
        counts = JSON.parse((await flood).stdout) as Record<string, number>;
      } finally {
        clearInterval(sampler);
      }
      expect(counts[String(grpc.status.UNAVAILABLE)]).toBe(calls - 3);
      expect(counts[String(grpc.status.OK)]).toBe(3);
      // 400 MiB were offered; only the three admitted calls' bodies (6 MiB) may be held.
      // (Without the cap, 60 admitted calls alone grew RSS by about 126 MiB here.)
      const growthMiB = (peak - before) / 1024 / 1024;
      expect(growthMiB).toBeLessThan(64);
    } finally {
      recorder.open();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Resolves once the admission cap has refused `n` calls in total. */
async function waitForShed(t: TestApp, n: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const check = () => (t.app.protection.admission.shedCalls >= n ? resolve() : setTimeout(check, 10));
    check();
  });
}
