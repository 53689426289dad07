import pino from 'pino';
import { loadConfig } from '../../src/config/config';
import { plainTransactions } from '../../src/db/copy';
import { BatchTally } from '../../src/ingest/batch-response';
import { ingestBatch } from '../../src/ingest/ingest.service';
import { type Session, SessionStatus } from '../../generated/catsyphon/telemetry/v1/sessions';
import { FakeAuthenticator } from '../helpers/fake-auth';
import { IngestClient } from '../helpers/ingest-client';
import { simpleSession } from '../helpers/session-gen';
import { startTestApp, type TestApp } from '../helpers/test-app';

/**
 * Concurrent batches that create the same new projects, developers and
 * backing models, in opposite orders. Each session used to resolve its own
 * in turn, so on PostgreSQL two such batches deadlocked and one session came
 * back FAILED/INTERNAL (found by the benchmark's library-client run).
 */
describe('concurrent batches sharing new dimension rows', () => {
  let t: TestApp;
  let clients: IngestClient[];
  beforeAll(async () => {
    const auth = new FakeAuthenticator();
    t = await startTestApp({}, { authenticator: auth });
    const { token } = await auth.seedCaller(t.app.database.db);
    clients = [new IngestClient(t.address, token), new IngestClient(t.address, token)];
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await t.close();
  });

  const withDimensions = (id: string, d: number, round: number): Session => ({
    ...simpleSession(id, 1, 2),
    project: { path: `/work/r${round}/p${d}`, name: `p${d}`, metadata: {} },
    developer: { username: `dev-${round}-${d}`, metadata: {} },
    backingModel: { provider: 'anthropic', modelId: `model-${round}-${d}` },
  });

  test('every session is created and no transaction needs a deadlock retry', async () => {
    const width = 12;
    for (let round = 0; round < 6; round++) {
      // Sessions are stored in id order; batch A meets dimension 0 first, batch B dimension 11 first.
      const a = Array.from({ length: width }, (_, i) => withDimensions(`r${round}-a-${String(i).padStart(2, '0')}`, i, round));
      const b = Array.from({ length: width }, (_, i) => withDimensions(`r${round}-b-${String(i).padStart(2, '0')}`, width - 1 - i, round));
      const [ra, rb] = await Promise.all([clients[0].export({ sessions: a }), clients[1].export({ sessions: b })]);
      for (const r of [...ra.results, ...rb.results]) {
        expect([r.sessionId, r.status, r.error]).toEqual([r.sessionId, SessionStatus.SESSION_STATUS_CREATED, undefined]);
      }
    }
    expect(t.logs.text()).not.toContain('lock conflict');
    expect(t.logs.text()).not.toContain('storing a session failed');
  });

  test('a batch whose transaction hits a deadlock is retried whole; the stored response counts each session once', async () => {
    const { caller } = await new FakeAuthenticator().seedCaller(t.app.database.db, 'retry');
    const plain = plainTransactions(t.app.database.db);
    let attempts = 0;
    // The first attempt does all the work, then fails as a deadlock would at its last statement.
    const deadlockOnce = ((work) =>
      attempts++ > 0
        ? plain(work)
        : plain(async (trx, copy) => {
            await work(trx, copy);
            throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
          })) as typeof plain;
    const sessions = [simpleSession('dl-1'), simpleSession('dl-2')];
    const tally = new BatchTally();
    const responses: number[] = [];
    const outcome = await ingestBatch(deadlockOnce, caller, sessions, {
      limits: loadConfig({}).ingest.limits,
      logger: pino({ level: 'silent' }),
      beforeCommit: async (_trx, o) => {
        responses.push(tally.including(o.results, o.totalMessages).response('b').results.length);
      },
    });
    expect(attempts).toBe(2);
    expect(responses).toEqual([2, 2]); // built twice, never accumulated
    expect(tally.results).toEqual([]);
    expect(outcome.results.map((r) => r.status)).toEqual([SessionStatus.SESSION_STATUS_CREATED, SessionStatus.SESSION_STATUS_CREATED]);
  });
});
