import * as grpc from '@grpc/grpc-js';
import { sql } from 'kysely';
import {
  BatchStatus,
  ErrorCode,
  type Session,
  SessionStatus,
} from '../../generated/catsyphon/telemetry/v1/sessions';
import { FakeAuthenticator } from '../helpers/fake-auth';
import { IngestClient } from '../helpers/ingest-client';
import { simpleSession } from '../helpers/session-gen';
import { startTestApp, type TestApp } from '../helpers/test-app';

const { CREATED, UPDATED, DUPLICATE, FAILED } = {
  CREATED: SessionStatus.SESSION_STATUS_CREATED,
  UPDATED: SessionStatus.SESSION_STATUS_UPDATED,
  DUPLICATE: SessionStatus.SESSION_STATUS_DUPLICATE,
  FAILED: SessionStatus.SESSION_STATUS_FAILED,
};

const summary = (res: { results: { status: number; messagesIngested: number; threadsIngested: number }[] }) =>
  res.results.map((r) => [r.status, r.messagesIngested, r.threadsIngested]);

describe('ExportSessions: statuses, counts and validation', () => {
  let t: TestApp;
  let client: IngestClient;
  let collectorId: string;
  let workspaceId: string;
  beforeAll(async () => {
    const auth = new FakeAuthenticator();
    t = await startTestApp({ MAX_SESSIONS_PER_BATCH: '5', MAX_CONTENT_BYTES: '2000' }, { authenticator: auth });
    const seeded = await auth.seedCaller(t.app.database.db);
    collectorId = seeded.caller.collectorId;
    workspaceId = seeded.caller.workspaceId;
    client = new IngestClient(t.address, seeded.token);
  });
  afterAll(async () => {
    client.close();
    await t.close();
  });

  test('CREATED, then DUPLICATE, then UPDATED with exact counts and a stable catsyphon_id', async () => {
    const s = simpleSession('grow', 2, 3);
    const first = await client.export({ sessions: [s] });
    expect(first.status).toBe(BatchStatus.BATCH_STATUS_ACCEPTED);
    expect(summary(first)).toEqual([[CREATED, 6, 2]]);
    expect(first.metrics).toMatchObject({ sessionsCreated: 1, sessionsUpdated: 0, sessionsDuplicate: 0, sessionsFailed: 0, totalMessages: 6 });
    const id = first.results[0].catsyphonId;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const again = await client.export({ sessions: [s] });
    expect(summary(again)).toEqual([[DUPLICATE, 0, 0]]);
    expect(again.results[0].catsyphonId).toBe(id);
    expect(again.metrics).toMatchObject({ sessionsDuplicate: 1, totalMessages: 6 });

    // The session grows: two more messages in t0 and a new thread spawned from t0.
    const grown = simpleSession('grow', 2, 5);
    grown.threads[1].messages = grown.threads[1].messages.slice(0, 3);
    grown.threads[1].lastActivityAtNs = s.threads[1].lastActivityAtNs;
    grown.threads.push({ ...simpleSession('x', 1, 1).threads[0], id: 'child', parentThreadId: 't0' });
    const updated = await client.export({ sessions: [grown] });
    expect(summary(updated)).toEqual([[UPDATED, 3, 1]]);
    expect(updated.results[0].catsyphonId).toBe(id);
    expect(updated.metrics).toMatchObject({ sessionsUpdated: 1 });

    const status = await client.getSessionStatus('grow', 1);
    expect(status.catsyphonId).toBe(id);
    expect(status.messageCount).toBe(9n);
    expect(status.threads).toEqual([
      { threadId: 't0', lastSeq: 5, messageCount: 5n, awaitingParent: false },
      { threadId: 't1', lastSeq: 3, messageCount: 3n, awaitingParent: false },
      { threadId: 'child', lastSeq: 1, messageCount: 1n, parentThreadId: 't0', awaitingParent: false },
    ]);
    expect(status.lastActivityAtNs).toBe(grown.lastActivityAtNs);
    expect((await client.getSession('grow', 1)).session).toEqual(grown);
  });

  test('last_activity_at only moves forward; an older snapshot changes nothing', async () => {
    const s = simpleSession('forward', 1, 2);
    s.lastActivityAtNs = 2_000_000_000_000_000_000n;
    await client.export({ sessions: [s] });
    const older: Session = { ...s, lastActivityAtNs: 1_000n, status: 3, metadata: { stale: 'yes' } };
    expect(summary(await client.export({ sessions: [older] }))).toEqual([[DUPLICATE, 0, 0]]);
    expect((await client.getSession('forward', 1)).session).toEqual(s);

    const newer: Session = { ...s, lastActivityAtNs: s.lastActivityAtNs + 1n, status: 2, metadata: { fresh: 'yes' } };
    expect(summary(await client.export({ sessions: [newer] }))).toEqual([[UPDATED, 0, 0]]);
    expect((await client.getSession('forward', 1)).session).toEqual(newer);
  });

  test('plans are upserted by id and the newer updated_at wins', async () => {
    const plan = { id: 'p1', path: 'plan.md', title: 'v1', status: 1, content: 'a\u0000b', createdAtNs: 5n, updatedAtNs: 10n };
    const s: Session = { ...simpleSession('plans', 1, 1), plans: [plan] };
    expect(summary(await client.export({ sessions: [s] }))).toEqual([[CREATED, 1, 1]]);
    const stale = { ...s, plans: [{ ...plan, title: 'older', updatedAtNs: 9n }] };
    expect(summary(await client.export({ sessions: [stale] }))).toEqual([[DUPLICATE, 0, 0]]);
    expect((await client.getSession('plans', 1)).session?.plans).toEqual([plan]);
    const newer = { ...s, plans: [{ ...plan, title: 'v2', updatedAtNs: 11n }, { id: 'p2', path: 'b.md', status: 2, createdAtNs: 1n }] };
    expect(summary(await client.export({ sessions: [newer] }))).toEqual([[UPDATED, 0, 0]]);
    expect((await client.getSession('plans', 1)).session?.plans).toEqual(newer.plans);
  });

  test('parent_thread_id may name a thread stored by an earlier export', async () => {
    await client.export({ sessions: [simpleSession('parents', 1, 1)] });
    const child = simpleSession('parents', 1, 1);
    child.threads = [{ ...child.threads[0], id: 'sub', parentThreadId: 't0' }];
    expect(summary(await client.export({ sessions: [child] }))).toEqual([[UPDATED, 1, 1]]);
    const status = await client.getSessionStatus('parents', 1);
    expect(status.threads.map((th) => [th.threadId, th.parentThreadId, th.awaitingParent])).toEqual([
      ['t0', undefined, false],
      ['sub', 't0', false],
    ]);
  });

  test('threads in any order: the agent thread in one batch, its main thread in the next; stored whole, link resolved, read back as sent', async () => {
    const whole = simpleSession('sidechain-first', 2, 3);
    whole.threads[0].id = 'main';
    whole.threads[1] = { ...whole.threads[1], id: 'agent-1', parentThreadId: 'main', spawnedByMessageId: 'm2', type: 2 };
    const agentOnly: Session = { ...whole, threads: [whole.threads[1]] };
    const mainOnly: Session = { ...whole, threads: [whole.threads[0]] };

    const first = await client.export({ sessions: [agentOnly] });
    expect(first.status).toBe(BatchStatus.BATCH_STATUS_ACCEPTED);
    expect(summary(first)).toEqual([[CREATED, 3, 1]]);
    let status = await client.getSessionStatus('sidechain-first', 1);
    expect(status.threads).toEqual([
      { threadId: 'agent-1', lastSeq: 3, messageCount: 3n, parentThreadId: 'main', awaitingParent: true },
    ]);

    expect(summary(await client.export({ sessions: [mainOnly] }))).toEqual([[UPDATED, 3, 1]]);
    status = await client.getSessionStatus('sidechain-first', 1);
    expect(status.threads.map((th) => [th.threadId, th.awaitingParent])).toEqual([
      ['agent-1', false],
      ['main', false],
    ]);
    expect(status.messageCount).toBe(6n);
    // Threads come back in the order first received: what was sent, agent first.
    const readBack = (await client.getSession('sidechain-first', 1)).session;
    expect(readBack).toEqual({ ...whole, threads: [whole.threads[1], whole.threads[0]] });

    // Resending either part, or the whole, stays idempotent.
    expect(summary(await client.export({ sessions: [agentOnly] }))).toEqual([[DUPLICATE, 0, 0]]);
    expect(summary(await client.export({ sessions: [mainOnly] }))).toEqual([[DUPLICATE, 0, 0]]);
    expect(summary(await client.export({ sessions: [whole] }))).toEqual([[DUPLICATE, 0, 0]]);
    expect((await client.getSession('sidechain-first', 1)).session).toEqual(readBack);
  });

  test('a child before its parent in the same request is stored with the link resolved', async () => {
    const s = simpleSession('child-first', 2, 1);
    s.threads[0] = { ...s.threads[0], id: 'agent', parentThreadId: 'main' };
    s.threads[1] = { ...s.threads[1], id: 'main' };
    expect(summary(await client.export({ sessions: [s] }))).toEqual([[CREATED, 2, 2]]);
    const status = await client.getSessionStatus('child-first', 1);
    expect(status.threads.every((th) => !th.awaitingParent)).toBe(true);
    expect((await client.getSession('child-first', 1)).session).toEqual(s);
  });

  test('a thread naming itself, or a cycle (in one request or closed through stored threads), is a validation error', async () => {
    const self = simpleSession('loop-self', 1, 1);
    self.threads[0].parentThreadId = 't0';
    const pair = simpleSession('loop-pair', 2, 1);
    pair.threads[0].parentThreadId = 't1';
    pair.threads[1].parentThreadId = 't0';
    const res = await client.export({ sessions: [self, pair] });
    expect(res.status).toBe(BatchStatus.BATCH_STATUS_REJECTED);
    expect(res.results.map((r) => r.error?.field)).toEqual([
      'sessions[0].threads[0].parent_thread_id',
      'sessions[1].threads[0].parent_thread_id',
    ]);
    expect(res.results[1].error?.message).toContain('cycle');

    // a -> b stored first (b unknown); then b -> a would close a loop.
    const a = simpleSession('loop-late', 1, 1);
    a.threads[0] = { ...a.threads[0], id: 'a', parentThreadId: 'b' };
    expect(summary(await client.export({ sessions: [a] }))).toEqual([[CREATED, 1, 1]]);
    const b = simpleSession('loop-late', 1, 1);
    b.threads[0] = { ...b.threads[0], id: 'b', parentThreadId: 'a' };
    const late = await client.export({ sessions: [b] });
    expect(late.results[0]).toMatchObject({
      status: FAILED,
      error: { code: ErrorCode.ERROR_CODE_VALIDATION, field: 'sessions[0].threads[0].parent_thread_id' },
    });
    expect(late.results[0].error?.message).toContain('cycle');
  });

  test('a PARTIAL batch reports each invalid session with its field path; the valid ones are stored', async () => {
    const valid = simpleSession('partial-ok', 1, 2);
    const badRole = simpleSession('bad-role', 2, 4);
    badRole.threads[1].messages[3].authorRole = 0;
    const emptyId = simpleSession('', 1, 1);
    const dupThread = simpleSession('dup-thread', 2, 1);
    dupThread.threads[1].id = 't0';
    const dupSeq = simpleSession('dup-seq', 1, 3);
    dupSeq.threads[0].messages[2].seq = 1;
    const res = await client.export({ sessions: [valid, badRole, emptyId, dupThread, dupSeq] });
    expect(res.status).toBe(BatchStatus.BATCH_STATUS_PARTIAL);
    expect(res.results.map((r) => r.error?.field ?? '')).toEqual([
      '',
      'sessions[1].threads[1].messages[3].author_role',
      'sessions[2].id',
      'sessions[3].threads[1].id',
      'sessions[4].threads[0].messages[2].seq',
    ]);
    expect(res.results.map((r) => r.status)).toEqual([CREATED, FAILED, FAILED, FAILED, FAILED]);
    expect(res.results.slice(1).every((r) => r.error?.code === ErrorCode.ERROR_CODE_VALIDATION && r.error.message !== '')).toBe(true);
    expect(res.metrics).toMatchObject({ sessionsCreated: 1, sessionsFailed: 4, totalMessages: 2 + 8 + 1 + 2 + 3 });
    await expect(client.getSession('bad-role', 1)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  test('a REJECTED batch: every session invalid (seq, message_type, size limits, NUL in ids)', async () => {
    const seq0 = simpleSession('seq0', 1, 1);
    seq0.threads[0].messages[0].seq = 0;
    const noType = simpleSession('no-type', 1, 2);
    noType.threads[0].messages[1].messageType = 0;
    const tooLong = simpleSession('too-long', 1, 1);
    tooLong.threads[0].messages[0].content = 'é'.repeat(1001);
    const nulId = simpleSession('nul', 1, 1);
    nulId.threads[0].id = 'a\u0000b';
    const res = await client.export({ sessions: [seq0, noType, tooLong, nulId] });
    expect(res.status).toBe(BatchStatus.BATCH_STATUS_REJECTED);
    expect(res.results.map((r) => [r.status, r.error?.field])).toEqual([
      [FAILED, 'sessions[0].threads[0].messages[0].seq'],
      [FAILED, 'sessions[1].threads[0].messages[1].message_type'],
      [FAILED, 'sessions[2].threads[0].messages[0].content'],
      [FAILED, 'sessions[3].threads[0].id'],
    ]);
    expect(res.results[2].error?.message).toContain('2002 bytes');
    expect(res.metrics?.sessionsFailed).toBe(4);
  });

  test('batch_id and the session count are checked first: INVALID_ARGUMENT', async () => {
    await expect(client.export({ batchId: '', sessions: [] })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    await expect(client.export({ batchId: 'x'.repeat(129), sessions: [] })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    const ok = await client.export({ batchId: 'y'.repeat(128), sessions: [] });
    expect(ok.status).toBe(BatchStatus.BATCH_STATUS_ACCEPTED);
    const six = Array.from({ length: 6 }, (_, i) => simpleSession(`six-${i}`));
    await expect(client.export({ sessions: six })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('MAX_SESSIONS_PER_BATCH'),
    });
    await expect(client.getSession('six-0', 1)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  test('CollectorInfo naming another collector or workspace is PERMISSION_DENIED', async () => {
    const collector = { type: 't', version: '1', hostname: 'h', collectorId: '', workspaceId: '', metadata: {} };
    const ok = await client.export({ collector: { ...collector, collectorId, workspaceId }, sessions: [] });
    expect(ok.status).toBe(BatchStatus.BATCH_STATUS_ACCEPTED);
    await expect(
      client.export({ collector: { ...collector, collectorId: '00000000-0000-0000-0000-000000000000' }, sessions: [] }),
    ).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
    await expect(
      client.export({ collector: { ...collector, workspaceId: '00000000-0000-0000-0000-000000000000' }, sessions: [] }),
    ).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
  });

  test('a database error in one session fails only that session, with ERROR_CODE_INTERNAL and nothing half-written', async () => {
    const db = t.app.database.db;
    await sql`CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.content = 'boom' THEN RAISE EXCEPTION 'secret internal detail'; END IF; RETURN NEW; END $$`.execute(db);
    await sql`CREATE TRIGGER boom BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION boom()`.execute(db);
    try {
      const bad = simpleSession('boom-session', 2, 2);
      bad.threads[1].messages[1].content = 'boom';
      const res = await client.export({ sessions: [simpleSession('before-boom'), bad, simpleSession('zz-after-boom')] });
      expect(res.status).toBe(BatchStatus.BATCH_STATUS_PARTIAL);
      expect(res.results.map((r) => r.status)).toEqual([CREATED, FAILED, CREATED]);
      expect(res.results[1].error).toMatchObject({ code: ErrorCode.ERROR_CODE_INTERNAL, field: 'sessions[1]' });
      expect(res.results[1].error?.message).not.toContain('secret');
      const left = await db.selectFrom('sessions').select('id').where('source_session_id', '=', 'boom-session').execute();
      expect(left).toEqual([]);
      const threads = await sql`SELECT count(*)::int AS n FROM threads t JOIN sessions s ON s.id = t.session_id
        WHERE s.source_session_id IN ('before-boom', 'zz-after-boom')`.execute(db);
      expect(threads.rows).toEqual([{ n: 2 }]);
    } finally {
      await sql`DROP TRIGGER boom ON messages`.execute(db);
      await sql`DROP FUNCTION boom()`.execute(db);
    }
    // Once the cause is gone the same session goes in.
    const retry = simpleSession('boom-session', 2, 2);
    retry.threads[1].messages[1].content = 'boom';
    expect(summary(await client.export({ sessions: [retry] }))).toEqual([[CREATED, 4, 2]]);
  });

  test('the same session twice in one batch: CREATED then DUPLICATE', async () => {
    const s = simpleSession('twice', 1, 2);
    const res = await client.export({ sessions: [s, s] });
    expect(summary(res)).toEqual([
      [CREATED, 2, 1],
      [DUPLICATE, 0, 0],
    ]);
    expect(res.results[0].catsyphonId).toBe(res.results[1].catsyphonId);
  });

  test('a huge session stays under the parameter limit (chunked statements)', async () => {
    const s = simpleSession('huge', 2, 4000, 10);
    for (const m of s.threads[0].messages) m.filesTouched = [{ path: 'f', changeType: 3, linesAdded: 1, linesDeleted: 0, timestampNs: 1n }, { path: 'g', changeType: 1, linesAdded: 0, linesDeleted: 0, timestampNs: 2n }];
    expect(summary(await client.export({ sessions: [s] }))).toEqual([[CREATED, 8000, 2]]);
    expect((await client.getSession('huge', 1)).session).toEqual(s);
  });
});
