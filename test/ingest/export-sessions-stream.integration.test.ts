import * as grpc from '@grpc/grpc-js';
import { BatchStatus, ErrorCode, SessionStatus } from '../../generated/catsyphon/telemetry/v1/sessions';
import { FakeAuthenticator } from '../helpers/fake-auth';
import { IngestClient } from '../helpers/ingest-client';
import { simpleSession } from '../helpers/session-gen';
import { startTestApp, type TestApp } from '../helpers/test-app';

describe('ExportSessionsStream', () => {
  let t: TestApp;
  let client: IngestClient;
  beforeAll(async () => {
    const auth = new FakeAuthenticator();
    t = await startTestApp({ INGEST_STREAM_CHUNK_SESSIONS: '3', MAX_SESSIONS_PER_BATCH: '200' }, { authenticator: auth });
    const seeded = await auth.seedCaller(t.app.database.db);
    client = new IngestClient(t.address, seeded.token);
  });
  afterAll(async () => {
    client.close();
    await t.close();
  });

  test('aggregates every chunk into one response, with stream-wide field paths and a generated batch_id', async () => {
    const bad = simpleSession('st-bad', 2, 2);
    bad.threads[1].messages[0].messageType = 0;
    const chunks = [[simpleSession('st-1'), simpleSession('st-2')], [], [simpleSession('st-3'), bad, simpleSession('st-1')], [simpleSession('st-4')]];
    const res = await client.stream(chunks);
    expect(res.batchId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.status).toBe(BatchStatus.BATCH_STATUS_PARTIAL);
    expect(res.results.map((r) => [r.sessionId, r.status])).toEqual([
      ['st-1', SessionStatus.SESSION_STATUS_CREATED],
      ['st-2', SessionStatus.SESSION_STATUS_CREATED],
      ['st-3', SessionStatus.SESSION_STATUS_CREATED],
      ['st-bad', SessionStatus.SESSION_STATUS_FAILED],
      ['st-1', SessionStatus.SESSION_STATUS_DUPLICATE],
      ['st-4', SessionStatus.SESSION_STATUS_CREATED],
    ]);
    expect(res.results[3].error).toMatchObject({ code: ErrorCode.ERROR_CODE_VALIDATION, field: 'sessions[3].threads[1].messages[0].message_type' });
    expect(res.metrics).toMatchObject({ sessionsCreated: 4, sessionsDuplicate: 1, sessionsFailed: 1, totalMessages: 3 * 5 + 4 });
    expect((await client.getSession('st-4', 1)).session).toEqual(simpleSession('st-4'));
  });

  test('an empty stream is ACCEPTED with no results', async () => {
    const res = await client.stream([]);
    expect(res.status).toBe(BatchStatus.BATCH_STATUS_ACCEPTED);
    expect(res.results).toEqual([]);
  });

  test('x-batch-id makes the stream idempotent, whatever the chunking', async () => {
    const sessions = Array.from({ length: 7 }, (_, i) => simpleSession(`xb-${i}`, 1, 2));
    const first = await client.stream([sessions.slice(0, 4), sessions.slice(4)], 'stream-batch-1');
    expect(first.batchId).toBe('stream-batch-1');
    expect(first.metrics?.sessionsCreated).toBe(7);
    const rows = await t.app.database.db.selectFrom('sessions').select(['id', 'updated_at']).orderBy('id').execute();
    const replay = await client.stream([sessions.slice(0, 1), sessions.slice(1)], 'stream-batch-1');
    expect(replay).toEqual(first);
    expect(await t.app.database.db.selectFrom('sessions').select(['id', 'updated_at']).orderBy('id').execute()).toEqual(rows);
    // The unary call with the same batch_id and sessions replays it as well.
    expect(await client.export({ batchId: 'stream-batch-1', sessions })).toEqual(first);
    await expect(client.stream([sessions.slice(0, 6)], 'stream-batch-1')).rejects.toMatchObject({
      code: grpc.status.ALREADY_EXISTS,
    });
    await expect(client.stream([sessions], 'x'.repeat(129))).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  test('a stream cancelled by the client is not recorded: a retry with the same x-batch-id is ingested', async () => {
    const sessions = Array.from({ length: 9 }, (_, i) => simpleSession(`cancel-${i}`, 1, 2));
    const cancelled = new Promise<grpc.ServiceError | null>((resolve) => {
      const call = client.ingestion.exportSessionsStream(client.metadata({ 'x-batch-id': 'cancelled-1' }), (err) => resolve(err));
      call.write({ sessions: sessions.slice(0, 3) });
      setTimeout(() => call.cancel(), 300);
    });
    expect(await cancelled).toMatchObject({ code: grpc.status.CANCELLED });
    // The server notices the cancel and releases the batch; poll until the claim is gone.
    const deadline = Date.now() + 10_000;
    let rows = 1;
    while (rows > 0 && Date.now() < deadline) {
      rows = (await t.app.database.db.selectFrom('ingest_batches').select('batch_id').where('batch_id', '=', 'cancelled-1').execute()).length;
      if (rows > 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(rows).toBe(0);
    const res = await client.stream([sessions], 'cancelled-1');
    expect(res.results).toHaveLength(9);
    expect(res.metrics?.sessionsFailed).toBe(0);
    expect(await client.stream([sessions.slice(0, 5), sessions.slice(5)], 'cancelled-1')).toEqual(res);
  });
});
