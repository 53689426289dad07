import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { SessionStatus, type ExportSessionsResponse } from '../../generated/catsyphon/telemetry/v1/sessions';
import { generateApiKey } from '../../src/auth/api-key';
import { FakeClock } from '../helpers/auth-fixtures';
import { bearer, exportOutcome, request, sessionsWithMessages, streamOutcome } from '../helpers/protect-client';
import { deltas, scrapeMetrics } from '../helpers/scrape-metrics';
import { makeSession } from '../helpers/session-factory';
import { startTestApp, type TestApp } from '../helpers/test-app';

const STARTUP_TIMEOUT_MS = 180_000;
const FAILURE_LIMIT = 4;

const sessions = (status: string) => `catsyphon_ingest_sessions_total{status="${status}"}`;
const MESSAGES = 'catsyphon_ingest_messages_ingested_total';
const REPLAYS = 'catsyphon_ingest_idempotent_replays_total';
const authFailures = (reason: string) => `catsyphon_ingest_auth_failures_total{reason="${reason}"}`;
const rateLimited = (limit: string) => `catsyphon_ingest_rate_limited_total{limit="${limit}"}`;

function countStatus(response: ExportSessionsResponse | undefined, status: SessionStatus): number {
  return response?.results.filter((r) => r.status === status).length ?? NaN;
}

/**
 * The counters the ingestion, auth and protection code report, seen through
 * a real /metrics scrape after real gRPC calls with real API keys. Every
 * collector gets RATE_LIMIT_REQUESTS_PER_MIN=4; the tests run in order and
 * the auth test, which ends with this peer throttled, comes last.
 */
describe('IngestMetrics wired into ingestion, auth and protection', () => {
  let t: TestApp;
  const clock = new FakeClock();

  const newCollector = (expiresInMs?: number) =>
    t.app.collectors.createCollector({ workspace: 'metrics', name: `c-${randomBytes(3).toString('hex')}`, expiresInMs });

  beforeAll(async () => {
    t = await startTestApp(
      {
        BCRYPT_COST: '4',
        AUTH_FAILURE_LIMIT: String(FAILURE_LIMIT),
        AUTH_FAILURE_WINDOW_MS: '10m',
        RATE_LIMIT_REQUESTS_PER_MIN: '4',
        RATE_LIMIT_REQUESTS_BURST: '0',
        RATE_LIMIT_MESSAGES_PER_MIN: '100',
        RATE_LIMIT_MESSAGES_BURST: '0',
        INGEST_STREAM_CHUNK_SESSIONS: '2',
        MAX_SESSIONS_PER_BATCH: '3',
      },
      { clock },
    );
    await t.app.collectors.createWorkspace({ name: 'Metrics', slug: 'metrics' });
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t.close();
  });

  test('ExportSessions counts sessions by status and messages stored; a replayed batch_id counts as a replay only', async () => {
    const md = bearer((await newCollector()).apiKey);
    const before = await scrapeMetrics(t);
    const first = await exportOutcome(
      t.ingestion,
      request('unary-1', [makeSession('u-a', 3), makeSession('u-b', 2), makeSession('', 4)]),
      md,
    );
    expect(first.code).toBe(grpc.status.OK);
    expect(countStatus(first.response, SessionStatus.SESSION_STATUS_CREATED)).toBe(2);
    expect(countStatus(first.response, SessionStatus.SESSION_STATUS_FAILED)).toBe(1);
    let d = deltas(before, await scrapeMetrics(t));
    expect(d(sessions('created'))).toBe(2);
    expect(d(sessions('failed'))).toBe(1);
    expect(d(sessions('updated'))).toBe(0);
    expect(d(sessions('duplicate'))).toBe(0);
    expect(d(MESSAGES)).toBe(5);
    expect(d(REPLAYS)).toBe(0);

    const replay = await exportOutcome(
      t.ingestion,
      request('unary-1', [makeSession('u-a', 3), makeSession('u-b', 2), makeSession('', 4)]),
      md,
    );
    expect(replay.code).toBe(grpc.status.OK);
    expect(replay.response).toEqual(first.response);
    d = deltas(before, await scrapeMetrics(t));
    expect(d(REPLAYS)).toBe(1);
    expect(d(sessions('created'))).toBe(2);
    expect(d(MESSAGES)).toBe(5);

    // The same session again is a duplicate; one with more messages is an update.
    const second = await exportOutcome(t.ingestion, request('unary-2', [makeSession('u-a', 3), makeSession('u-b', 4)]), md);
    expect(second.code).toBe(grpc.status.OK);
    expect(countStatus(second.response, SessionStatus.SESSION_STATUS_DUPLICATE)).toBe(1);
    expect(countStatus(second.response, SessionStatus.SESSION_STATUS_UPDATED)).toBe(1);
    const stored = second.response?.results.reduce((sum, r) => sum + r.messagesIngested, 0) ?? NaN;
    expect(stored).toBeGreaterThan(0);
    d = deltas(before, await scrapeMetrics(t));
    expect(d(sessions('duplicate'))).toBe(1);
    expect(d(sessions('updated'))).toBe(1);
    expect(d(MESSAGES)).toBe(5 + stored);
    expect(d(REPLAYS)).toBe(1);
  });

  test('ExportSessionsStream counts each committed chunk, even when a later message fails the call', async () => {
    const { apiKey } = await newCollector();
    const md = bearer(apiKey);
    md.set('x-batch-id', 'stream-1');
    const before = await scrapeMetrics(t);
    const chunks = [[...sessionsWithMessages(5, 'st'), ...sessionsWithMessages(2, 'su')], sessionsWithMessages(1, 'sv')];
    const streamed = await streamOutcome(t.ingestion, chunks, md);
    expect(streamed.code).toBe(grpc.status.OK);
    expect(countStatus(streamed.response, SessionStatus.SESSION_STATUS_CREATED)).toBe(3);
    let d = deltas(before, await scrapeMetrics(t));
    expect(d(sessions('created'))).toBe(3);
    expect(d(MESSAGES)).toBe(8);

    const replayed = await streamOutcome(t.ingestion, chunks, md);
    expect(replayed.code).toBe(grpc.status.OK);
    d = deltas(before, await scrapeMetrics(t));
    expect(d(REPLAYS)).toBe(1);
    expect(d(sessions('created'))).toBe(3);

    // Chunks of 2 sessions: the first message's two sessions are committed before the
    // 4-session message is refused (MAX_SESSIONS_PER_BATCH=3); they stay stored and are counted.
    const four = ['f3', 'f4', 'f5', 'f6'].flatMap((prefix) => sessionsWithMessages(1, prefix));
    const failing = await streamOutcome(
      t.ingestion,
      [[...sessionsWithMessages(1, 'f1'), ...sessionsWithMessages(1, 'f2')], four],
      bearer(apiKey),
    );
    expect(failing.code).toBe(grpc.status.INVALID_ARGUMENT);
    d = deltas(before, await scrapeMetrics(t));
    expect(d(sessions('created'))).toBe(5);
    expect(d(MESSAGES)).toBe(10);
  });

  test('refusals by the per-collector rate limits are counted by limit', async () => {
    const md = bearer((await newCollector()).apiKey);
    const before = await scrapeMetrics(t);
    for (let i = 0; i < 4; i++) {
      expect((await exportOutcome(t.ingestion, request(`rl-${i}`, []), md)).code).toBe(grpc.status.OK);
    }
    expect((await exportOutcome(t.ingestion, request('rl-refused', []), md)).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const big = await exportOutcome(t.ingestion, request('rl-big', sessionsWithMessages(150)), bearer((await newCollector()).apiKey));
    expect(big.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const d = deltas(before, await scrapeMetrics(t));
    expect(d(rateLimited('requests'))).toBe(1);
    expect(d(rateLimited('messages'))).toBe(1);
    expect(d(sessions('created'))).toBe(0);
  });

  test('authentication refusals are counted by reason', async () => {
    const before = await scrapeMetrics(t);
    // A valid key naming another workspace in CollectorInfo.
    const mismatch = await exportOutcome(
      t.ingestion,
      { ...request('auth-mismatch', []), collector: { type: '', version: '', hostname: '', collectorId: '', workspaceId: 'elsewhere', metadata: {} } },
      bearer((await newCollector()).apiKey),
    );
    expect(mismatch.code).toBe(grpc.status.PERMISSION_DENIED);

    const revoked = await newCollector();
    expect((await exportOutcome(t.ingestion, request('auth-r1', []), bearer(revoked.apiKey))).code).toBe(grpc.status.OK);
    await t.app.collectors.revokeCollector(revoked.collector.id);
    expect((await exportOutcome(t.ingestion, request('auth-r2', []), bearer(revoked.apiKey))).code).toBe(
      grpc.status.UNAUTHENTICATED,
    );

    const expiring = await newCollector(3_600_000);
    clock.advance(2 * 3_600_000);
    expect((await exportOutcome(t.ingestion, request('auth-e', []), bearer(expiring.apiKey))).details).toBe(
      'API key has expired',
    );

    expect((await exportOutcome(t.ingestion, request('auth-m', []), new grpc.Metadata())).code).toBe(
      grpc.status.UNAUTHENTICATED,
    );
    const basic = new grpc.Metadata();
    basic.set('authorization', `Basic ${revoked.apiKey}`);
    for (const md of [basic, bearer('abc')]) {
      expect((await exportOutcome(t.ingestion, request('auth-x', []), md)).code).toBe(grpc.status.UNAUTHENTICATED);
    }

    // Random keys name no collector: one lookup each, no budget spent (a repeat is answered from the cache).
    const unknown = [generateApiKey().key, generateApiKey().key];
    for (const key of [unknown[0], unknown[0], unknown[1]]) {
      expect((await exportOutcome(t.ingestion, request('auth-u', []), bearer(key))).code).toBe(grpc.status.UNAUTHENTICATED);
    }
    // Wrong secrets for a real prefix spend that prefix's FAILURE_LIMIT (4); the next is throttled.
    const target = await newCollector();
    const prefix = target.apiKey.slice(8, 20);
    const wrong = () => `cs_live_${prefix}${generateApiKey().key.slice(20)}`;
    for (let i = 0; i < FAILURE_LIMIT; i++) {
      expect((await exportOutcome(t.ingestion, request('auth-w', []), bearer(wrong()))).code).toBe(grpc.status.UNAUTHENTICATED);
    }
    expect((await exportOutcome(t.ingestion, request('auth-t', []), bearer(wrong()))).code).toBe(
      grpc.status.RESOURCE_EXHAUSTED,
    );

    const d = deltas(before, await scrapeMetrics(t));
    expect(d(authFailures('workspace_mismatch'))).toBe(1);
    expect(d(authFailures('revoked'))).toBe(1);
    expect(d(authFailures('expired'))).toBe(1);
    expect(d(authFailures('missing'))).toBe(1);
    expect(d(authFailures('malformed'))).toBe(2);
    expect(d(authFailures('unknown'))).toBe(3 + FAILURE_LIMIT);
    expect(d(authFailures('throttled_prefix'))).toBe(1);
    expect(d(authFailures('throttled_global'))).toBe(0);
    // A throttled call is refused by auth, not by a collector's rate limit.
    expect(d(rateLimited('requests'))).toBe(0);
  });
});
