import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { ExportSessionsRequest, SessionIngestionClient } from '../../generated/catsyphon/telemetry/v1/sessions';
import { FakeAuthenticator } from '../helpers/fake-auth';
import { bearer, exportOutcome, request, sessionsWithMessages } from '../helpers/protect-client';
import { RecordingHandlers } from '../helpers/recording-handlers';
import { startTestApp, type TestApp } from '../helpers/test-app';

const LIMIT = 65_536;

/** A request whose encoding is about `bytes` long and compresses extremely well. */
function bigRequest(batchId: string, bytes: number) {
  const req = request(batchId, sessionsWithMessages(1));
  req.sessions[0].threads[0].messages[0].content = 'a'.repeat(bytes);
  return req;
}

describe('message size limits', () => {
  let t: TestApp;
  let gzipClient: SessionIngestionClient;
  let token: string;
  const auth = new FakeAuthenticator();
  const recorder = new RecordingHandlers(() => t.app.database.db);

  beforeAll(async () => {
    t = await startTestApp(
      { MAX_RECEIVE_MESSAGE_BYTES: String(LIMIT) },
      { authenticator: auth, ingestionHandlers: recorder.handlers },
    );
    gzipClient = new SessionIngestionClient(t.address, grpc.credentials.createInsecure(), {
      'grpc.default_compression_algorithm': 2, // gzip
    });
    ({ token } = await auth.seedCaller(t.app.database.db, 'size'));
  });
  afterAll(async () => {
    gzipClient.close();
    await t.close();
  });

  test('a message over MAX_RECEIVE_MESSAGE_BYTES gets RESOURCE_EXHAUSTED stating the limit, and is not handled', async () => {
    const req = bigRequest('too-big', LIMIT + 1_000);
    expect(ExportSessionsRequest.encode(req).finish().length).toBeGreaterThan(LIMIT);
    const result = await exportOutcome(t.ingestion, req, bearer(token));
    expect(result.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(result.details).toContain(String(LIMIT));
    expect(await recorder.rows('too-big')).toBe(0);
  });

  test('gzip-compressed requests are accepted', async () => {
    const req = bigRequest('gzip-ok', LIMIT / 2);
    const result = await exportOutcome(gzipClient, req, bearer(token));
    expect(result.code).toBe(grpc.status.OK);
    expect(await recorder.rows('gzip-ok')).toBe(1);
  });

  test('the limit applies after decompression: a small gzip frame that inflates past it is refused', async () => {
    const req = bigRequest('gzip-bomb', 4 * LIMIT);
    const encoded = ExportSessionsRequest.encode(req).finish();
    expect(gzipSync(encoded).length).toBeLessThan(LIMIT / 8);
    const result = await exportOutcome(gzipClient, req, bearer(token));
    expect(result.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(result.details).toContain(String(LIMIT));
    expect(result.details).toMatch(/decompresses/);
    expect(await recorder.rows('gzip-bomb')).toBe(0);
  });

  test('the server stays healthy after refusing oversized messages', async () => {
    expect(await t.health()).toBe('SERVING');
    expect((await exportOutcome(t.ingestion, request('after', []), bearer(token))).code).toBe(grpc.status.OK);
  });
});
