import * as grpc from '@grpc/grpc-js';
import { FakeAuthenticator } from '../helpers/fake-auth';
import { bearer, exportOutcome, request, sessionsWithMessages } from '../helpers/protect-client';
import { RecordingHandlers } from '../helpers/recording-handlers';
import { startTestApp, type TestApp } from '../helpers/test-app';

describe('server-side deadline (RPC_TIMEOUT_MS)', () => {
  let t: TestApp;
  const auth = new FakeAuthenticator();
  const recorder = new RecordingHandlers(() => t.app.database.db);

  beforeAll(async () => {
    t = await startTestApp({ RPC_TIMEOUT_MS: '300ms' }, { authenticator: auth, ingestionHandlers: recorder.handlers });
  });
  afterAll(async () => {
    recorder.open();
    await t.close();
  });

  test('a call whose handler never finishes is answered DEADLINE_EXCEEDED naming the limit; the client need not set a deadline', async () => {
    const { token } = await auth.seedCaller(t.app.database.db, 'slow');
    recorder.close();
    const result = await exportOutcome(t.ingestion, request('stuck', sessionsWithMessages(5)), bearer(token));
    expect(result.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(result.details).toContain('RPC_TIMEOUT_MS');
    expect(result.details).toContain('300 ms');
    // The handler is still held: its buffered messages stay counted until it really ends.
    expect(t.app.protection.admission.bufferedMessages).toBe(5);
    recorder.open();
    expect((await exportOutcome(t.ingestion, request('quick', []), bearer(token))).code).toBe(grpc.status.OK);
  });
});
