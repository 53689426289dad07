import * as grpc from '@grpc/grpc-js';
import { type Session, SessionStatus } from '../../generated/catsyphon/telemetry/v1/sessions';
import { FakeAuthenticator } from '../helpers/fake-auth';
import { IngestClient } from '../helpers/ingest-client';
import { ReflectionClient } from '../helpers/reflection-client';
import { Rng, SessionGenerator } from '../helpers/session-gen';
import { startTestApp, type TestApp } from '../helpers/test-app';

describe('lossless round trip: ExportSessions then GetSession', () => {
  let t: TestApp;
  let client: IngestClient;
  beforeAll(async () => {
    const auth = new FakeAuthenticator();
    t = await startTestApp({}, { authenticator: auth });
    const { token } = await auth.seedCaller(t.app.database.db);
    client = new IngestClient(t.address, token);
  });
  afterAll(async () => {
    client.close();
    await t.close();
  });

  const seeds = [1, 2, 3, 4, 5, 6, 7, 8];
  test.each(seeds)('random sessions (seed %d) read back equal to what was sent', async (seed) => {
    const gen = new SessionGenerator(new Rng(seed));
    const sessions: Session[] = Array.from({ length: 6 }, () => gen.session(2));
    const res = await client.export({ sessions });
    expect(res.results.map((r) => [r.sessionId, r.status, r.error])).toEqual(
      sessions.map((s) => [s.id, SessionStatus.SESSION_STATUS_CREATED, undefined]),
    );
    for (const [i, s] of sessions.entries()) {
      const back = await client.getSession(s.id, s.assistant);
      expect(back.catsyphonId).toBe(res.results[i].catsyphonId);
      expect(back.session).toEqual(s);
      const messages = s.threads.reduce((n, th) => n + th.messages.length, 0);
      expect(res.results[i].messagesIngested).toBe(messages);
      expect(res.results[i].threadsIngested).toBe(s.threads.length);
    }
  });

  test('the generator really covers NUL, emoji, empty and large content, int64 extremes and unknown enums', () => {
    const all = seeds.flatMap((seed) => {
      const g = new SessionGenerator(new Rng(seed));
      return Array.from({ length: 6 }, () => g.session(2));
    });
    const messages = all.flatMap((s) => s.threads.flatMap((th) => th.messages));
    expect(messages.some((m) => m.content.includes('\u0000'))).toBe(true);
    expect(messages.some((m) => m.content.includes('😀'))).toBe(true);
    expect(messages.some((m) => m.content === '')).toBe(true);
    expect(messages.some((m) => m.content.length > 10_000)).toBe(true);
    expect(messages.some((m) => m.emittedAtNs === 2n ** 63n - 1n)).toBe(true);
    expect(messages.some((m) => m.observedAtNs === -(2n ** 63n))).toBe(true);
    expect(messages.some((m) => m.authorRole > 6)).toBe(true);
    expect(all.some((s) => s.assistant > 4)).toBe(true);
    expect(messages.some((m) => m.tokens === undefined) && messages.some((m) => m.tokens !== undefined)).toBe(true);
    expect(all.some((s) => s.plans.some((p) => p.content?.includes('\u0000')))).toBe(true);
  });

  test('GetSession is scoped to the workspace and answers NOT_FOUND otherwise', async () => {
    await expect(client.getSession('no-such-session', 1)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });
});

describe('SessionQueryService registration', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  test('reflection lists and describes catsyphon.ingest.v1.SessionQueryService; health knows it', async () => {
    const reflection = new ReflectionClient(t.address);
    try {
      expect(await reflection.listServices()).toContain('catsyphon.ingest.v1.SessionQueryService');
      const files = await reflection.fileContainingSymbol('catsyphon.ingest.v1.SessionQueryService');
      const query = files.find((f) => f.name === 'catsyphon/ingest/v1/query.proto');
      expect(query.service[0].method.map((m: { name: string }) => m.name)).toEqual(['GetSession', 'GetSessionStatus']);
    } finally {
      reflection.close();
    }
    expect(await t.health('catsyphon.ingest.v1.SessionQueryService')).toBe('SERVING');
  });

  test('the read-back API needs a key like ingestion does', async () => {
    const client = new IngestClient(t.address, 'not-a-key');
    try {
      await expect(client.getSession('x', 1)).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    } finally {
      client.close();
    }
  });
});
