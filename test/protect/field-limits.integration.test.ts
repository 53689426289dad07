import * as grpc from '@grpc/grpc-js';
import { loadConfig } from '../../src/config/config';
import { BatchStatus, ErrorCode, type Session, SessionStatus } from '../../generated/catsyphon/telemetry/v1/sessions';
import { FakeAuthenticator } from '../helpers/fake-auth';
import { bearer, exportOutcome, request } from '../helpers/protect-client';
import { simpleSession } from '../helpers/session-gen';
import { startTestApp, type TestApp } from '../helpers/test-app';

/** Per-field size limits are configurable and give per-session VALIDATION failures, not a failed call. */
describe('per-field size limits', () => {
  let t: TestApp;
  const auth = new FakeAuthenticator();

  beforeAll(async () => {
    t = await startTestApp(
      {
        MAX_CONTENT_BYTES: '1024',
        MAX_RAW_DATA_BYTES: '1024',
        MAX_METADATA_ENTRIES: '3',
        MAX_METADATA_VALUE_BYTES: '64',
        MAX_STRING_BYTES: '64',
      },
      { authenticator: auth },
    );
  });
  afterAll(async () => {
    await t.close();
  });

  const variant = (id: string, change: (s: Session) => void): Session => {
    const s = simpleSession(id, 1, 2);
    change(s);
    return s;
  };

  test('each oversized field fails only its own session, naming the field and the limit', async () => {
    const { token } = await auth.seedCaller(t.app.database.db, 'fields');
    const sessions = [
      simpleSession('fits', 1, 2),
      // 513 two-byte characters: 1026 bytes, counted as UTF-8 bytes, not characters.
      variant('content', (s) => (s.threads[0].messages[1].content = 'é'.repeat(513))),
      variant('raw', (s) => (s.threads[0].messages[0].rawData = Buffer.alloc(1025, 1))),
      variant('entries', (s) => (s.threads[0].messages[0].metadata = { a: '1', b: '2', c: '3', d: '4' })),
      variant('value', (s) => (s.metadata = { k: 'v'.repeat(65) })),
      variant('x'.repeat(65), () => undefined),
    ];
    const result = await exportOutcome(t.ingestion, request('fields-1', sessions), bearer(token));
    expect(result.code).toBe(grpc.status.OK);
    const response = result.response!;
    expect(response.status).toBe(BatchStatus.BATCH_STATUS_PARTIAL);
    expect(response.results.map((r) => r.status)).toEqual([
      SessionStatus.SESSION_STATUS_CREATED,
      ...Array(5).fill(SessionStatus.SESSION_STATUS_FAILED),
    ]);
    const errors = response.results.slice(1).map((r) => r.error!);
    for (const e of errors) expect(e.code).toBe(ErrorCode.ERROR_CODE_VALIDATION);
    expect(errors.map((e) => e.field)).toEqual([
      'sessions[1].threads[0].messages[1].content',
      'sessions[2].threads[0].messages[0].raw_data',
      'sessions[3].threads[0].messages[0].metadata',
      'sessions[4].metadata["k"]',
      'sessions[5].id',
    ]);
    expect(errors[0].message).toMatch(/1026 bytes, more than the limit of 1024/);
    expect(errors[1].message).toMatch(/1025 bytes, more than the limit of 1024/);
    expect(errors[2].message).toMatch(/more than 3 entries/);
    expect(errors[3].message).toMatch(/more than the limit of 64/);
    expect(errors[4].message).toMatch(/more than the limit of 64/);
    // Nothing of the failed sessions was stored.
    const stored = await t.app.database.db.selectFrom('sessions').select('source_session_id').execute();
    expect(stored.map((r) => r.source_session_id)).toEqual(['fits']);
  });

  test('a batch_id with a NUL character is INVALID_ARGUMENT, not INTERNAL (found by the fuzz test)', async () => {
    const { token } = await auth.seedCaller(t.app.database.db, 'nul');
    const result = await exportOutcome(t.ingestion, request('fuzz-se\u0000d-3', [simpleSession('n')]), bearer(token));
    expect(result.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(result.details).toMatch(/batch_id must not contain NUL/);
  });

  test.each([
    ['MAX_CONTENT_BYTES', '12'],
    ['MAX_RAW_DATA_BYTES', 'lots'],
    ['MAX_METADATA_ENTRIES', '-1'],
    ['RATE_LIMIT_REQUESTS_PER_MIN', '1.5'],
    ['RATE_LIMIT_MESSAGES_BURST', 'x'],
    ['MAX_CONCURRENT_INGESTIONS', '0'],
    ['MAX_BUFFERED_MESSAGES', ''],
    ['DB_HEALTH_INTERVAL_MS', '10ms'],
    ['RPC_TIMEOUT_MS', 'soon'],
    ['MAX_RECEIVE_MESSAGE_BYTES', '100'],
  ])('an invalid %s=%j is refused, naming the variable', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`^${variable}: `));
  });

  test('defaults', () => {
    const config = loadConfig({});
    expect(config.grpc.maxReceiveMessageBytes).toBe(64 * 1024 * 1024);
    expect(config.protect).toEqual({
      // Bursts follow the rate when unset: 2 minutes' worth per 10 minutes.
      rateLimits: { requestsPerMin: 6_000, requestsBurst: 12_000, messagesPerMin: 6_000_000, messagesBurst: 12_000_000 },
      rateLimitScope: 'replica',
      heartbeatIntervalMs: 5_000,
      maxConcurrentIngestions: 64,
      maxBufferedMessages: 500_000,
      overloadRetryDelayMs: 1_000,
      dbHealthIntervalMs: 5_000,
      rpcTimeoutMs: 120_000,
    });
  });
});
