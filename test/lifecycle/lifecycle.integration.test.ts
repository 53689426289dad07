import * as grpc from '@grpc/grpc-js';
import { sql } from 'kysely';
import { ADMIN_AUDIT_FIELDS } from './audit-fields';
import { PrometheusMetrics } from '../../src/metrics/prometheus-metrics';
import { SWEEPER_ACTOR } from '../../src/lifecycle/retention.sweeper';
import { SessionStatus, type Session } from '../../generated/catsyphon/telemetry/v1/sessions';
import { IngestClient } from '../helpers/ingest-client';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { orphanCounts, richSession, tableCounts, tablesWithSessionId } from './lifecycle-fixtures';

/**
 * Data lifecycle on a real server and database (PGlite, or PostgreSQL with
 * TEST_DATABASE_URL): the audit trail of export calls, stored sessions read
 * back, per-workspace retention under concurrent ingestion, and deletion on
 * request, each checked by counting rows in every table.
 */
/** json columns: PGlite parses them, node-postgres too; text when a driver does not. */
const asObject = (v: unknown): Record<string, unknown> =>
  (typeof v === 'string' ? JSON.parse(v) : v) as Record<string, unknown>;

describe('data lifecycle', () => {
  let t: TestApp;
  const clients: IngestClient[] = [];

  async function collector(workspace: string, name: string) {
    const issued = await t.app.collectors.createCollector({ workspace, name });
    const client = new IngestClient(t.address, issued.apiKey);
    clients.push(client);
    return { id: issued.collector.id, workspaceId: issued.collector.workspaceId, client };
  }

  const created = (sessions: Session[]) => sessions.map(() => SessionStatus.SESSION_STATUS_CREATED);
  const db = () => t.app.database.db;
  const actor = 'tester@host';

  beforeAll(async () => {
    // The timer stays out of the way: the tests run sweeps themselves.
    t = await startTestApp({ BCRYPT_COST: '4', RETENTION_SWEEP_INTERVAL: '1h', RETENTION_SWEEP_BATCH: '3' });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await t.close();
  });

  test('every session-owning table is one the deletion code knows', async () => {
    expect(await tablesWithSessionId(db())).toEqual(['files_touched', 'messages', 'plans', 'threads']);
  });

  test('batches list shows each authenticated call with its counts; a failed session shows its error', async () => {
    await t.app.collectors.createWorkspace({ name: 'Audit', slug: 'audit' });
    const c = await collector('audit', 'audit-laptop');
    const bad = richSession('audit-bad');
    bad.threads[0].messages[0].seq = 0;
    const res = await c.client.export({ batchId: 'audit-1', sessions: [richSession('audit-1a'), bad, richSession('audit-1b')] });
    expect(res.results.map((r) => r.status)).toEqual([
      SessionStatus.SESSION_STATUS_CREATED,
      SessionStatus.SESSION_STATUS_FAILED,
      SessionStatus.SESSION_STATUS_CREATED,
    ]);
    await c.client.export({ batchId: 'audit-1', sessions: [richSession('audit-1a'), bad, richSession('audit-1b')] });
    await expect(c.client.export({ batchId: '', sessions: [richSession('x')] })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    await c.client.stream([[richSession('audit-s1')], [richSession('audit-s2')]], 'audit-stream');

    const batches = await t.app.lifecycle.listBatches({ workspace: 'audit' });
    expect(batches).toHaveLength(4);
    const [stream, refused, replay, first] = batches;
    expect(first).toMatchObject({
      batchId: 'audit-1',
      method: 'ExportSessions',
      workspaceSlug: 'audit',
      collectorId: c.id,
      collectorName: 'audit-laptop',
      sessionsIn: 3,
      messagesIn: 12,
      created: 2,
      updated: 0,
      duplicate: 0,
      failed: 1,
      replayed: false,
      grpcCode: 'OK',
    });
    expect(first.firstError).toMatch(/^audit-bad: sessions\[1\]\.threads\[0\]\.messages\[0\]\.seq: /);
    expect(first.requestBytes).toBeGreaterThan(1000);
    expect(replay).toMatchObject({ batchId: 'audit-1', replayed: true, grpcCode: 'OK', created: 0 });
    expect(refused).toMatchObject({ batchId: '', grpcCode: 'INVALID_ARGUMENT', firstError: 'batch_id must not be empty' });
    expect(stream).toMatchObject({ batchId: 'audit-stream', method: 'ExportSessionsStream', sessionsIn: 2, messagesIn: 8, created: 2 });

    const failed = await t.app.lifecycle.listBatches({ workspace: 'audit', status: 'failed' });
    expect(failed.map((b) => b.id)).toEqual([refused.id, first.id]);
    expect((await t.app.lifecycle.listBatches({ collector: c.id, limit: 1 })).map((b) => b.id)).toEqual([stream.id]);
    expect(await t.app.lifecycle.listBatches({ workspace: 'audit', sinceMs: 60_000 })).toHaveLength(4);
    expect((await t.app.lifecycle.showBatch('audit-1')).map((b) => b.id)).toEqual([replay.id, first.id]);
    await expect(t.app.lifecycle.showBatch('no-such-batch')).rejects.toMatchObject({ kind: 'not_found' });

    // The audit outlives the idempotency record.
    await sql`DELETE FROM ingest_batches`.execute(db());
    expect(await t.app.lifecycle.listBatches({ workspace: 'audit' })).toHaveLength(4);
  });

  test('a call refused by the rate limit after authentication is in the audit trail too', async () => {
    const c = await collector('audit', 'audit-limited');
    await t.app.collectors.updateCollector(c.id, { rateLimits: { requestsPerMin: 1 } });
    // The limit allows a small burst (its size is the rate limiter's business): send until refused.
    let refused: string | undefined;
    try {
      for (let i = 1; i <= 100 && refused === undefined; i++) {
        const batchId = `limited-${i}`;
        await c.client.export({ batchId, sessions: [richSession(batchId)] }).catch((err: { code?: number }) => {
          expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
          refused = batchId;
        });
      }
      expect(refused).toBeDefined();
      const batches = await t.app.lifecycle.listBatches({ collector: c.id });
      expect(batches[0]).toMatchObject({ batchId: refused, grpcCode: 'RESOURCE_EXHAUSTED', sessionsIn: 0 });
      expect(batches.slice(1).every((b) => b.grpcCode === 'OK')).toBe(true);
    } finally {
      const ids = (await t.app.lifecycle.listSessions({ collector: c.id })).map((s) => s.id);
      if (ids.length > 0) await t.app.lifecycle.deleteSessions(ids, { actor });
    }
  });

  test('sessions list and show give back what was sent, as GetSession does', async () => {
    const list = await t.app.lifecycle.listSessions({ workspace: 'audit' });
    expect(list.map((s) => s.sourceSessionId).sort()).toEqual(['audit-1a', 'audit-1b', 'audit-s1', 'audit-s2']);
    const one = list.find((s) => s.sourceSessionId === 'audit-1a')!;
    expect(one).toMatchObject({
      assistant: 'ASSISTANT_CLAUDE_CODE',
      workspaceSlug: 'audit',
      collectorName: 'audit-laptop',
      project: 'demo',
      developer: 'dev <dev@example.com>',
      threads: 1,
      messages: 4,
    });
    const shown = await t.app.lifecycle.showSession(one.id);
    const viaQuery = await clients[0].getSession('audit-1a', richSession('audit-1a').assistant);
    expect(shown.response).toEqual(viaQuery);
    expect(shown.response.session).toEqual(richSession('audit-1a'));
    expect((await t.app.lifecycle.showSession('audit-1a')).summary.id).toBe(one.id);
    await expect(t.app.lifecycle.showSession('nope')).rejects.toMatchObject({ kind: 'not_found' });
  });

  test('retention: a sweep deletes the 1s workspace completely and leaves the `never` one alone, while ingestion goes on', async () => {
    await t.app.collectors.createWorkspace({ name: 'Short', slug: 'short' });
    await t.app.collectors.createWorkspace({ name: 'Forever', slug: 'forever' });
    const short = await collector('short', 'short-box');
    const forever = await collector('forever', 'forever-box');
    const old = (prefix: string) => Array.from({ length: 8 }, (_, i) => richSession(`${prefix}-${i}`, { email: `d${i % 2}@x.io` }));
    await short.client.export({ sessions: old('short-old') });
    await forever.client.export({ sessions: old('forever-old') });
    const keptBefore = await Promise.all(old('forever-old').map((s) => forever.client.getSession(s.id, s.assistant)));
    const foreverBefore = await tableCounts(db(), forever.workspaceId);
    expect((await tableCounts(db(), short.workspaceId)).sessions).toBe(8);

    expect(await t.app.lifecycle.setRetention('short', 1_000)).toMatchObject({ slug: 'short', retentionMs: 1_000 });
    expect(await t.app.lifecycle.setRetention('forever', null)).toMatchObject({ retentionMs: null });

    // Load: both workspaces keep receiving batches that reuse the old sessions' projects and developers
    // (the sweeper deletes those rows under them), while sweeps run until the load is done.
    let loading = true;
    const statuses: SessionStatus[][] = [];
    const load = async (c: typeof short, name: string) => {
      for (let i = 0; i < 12; i++) {
        const sessions = Array.from({ length: 3 }, (_, j) => richSession(`${name}-load-${i}-${j}`, { email: `d${j % 2}@x.io` }));
        const res = await c.client.export({ sessions });
        statuses.push(res.results.map((r) => r.status));
        expect(res.results.map((r) => r.status)).toEqual(created(sessions));
      }
    };
    const sweeps = (async () => {
      let runs = 0;
      while (loading || runs === 0) {
        await t.app.lifecycle.sweepRetention();
        runs++;
        // Leave the (in-process) embedded database to the load between sweeps.
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return runs;
    })();
    try {
      await Promise.all([load(short, 's1'), load(short, 's2'), load(forever, 'f1'), load(forever, 'f2')]);
    } finally {
      loading = false;
      await sweeps;
    }
    expect(statuses).toHaveLength(48);

    const final = await t.app.lifecycle.sweepRetention();
    const shortAfter = await tableCounts(db(), short.workspaceId);
    expect(shortAfter).toMatchObject({ sessions: 0, threads: 0, messages: 0, files_touched: 0, plans: 0, projects: 0, developers: 0 });
    expect(await orphanCounts(db())).toEqual({
      threads: 0,
      messages: 0,
      files_touched: 0,
      plans: 0,
      projects: 0,
      developers: 0,
      backing_models: 0,
    });
    expect(final.counts.sessions).toBeGreaterThanOrEqual(0);

    const foreverAfter = await tableCounts(db(), forever.workspaceId);
    expect(foreverAfter.sessions).toBe(foreverBefore.sessions + 72);
    expect(foreverAfter.projects).toBe(foreverBefore.projects);
    const keptAfter = await Promise.all(old('forever-old').map((s) => forever.client.getSession(s.id, s.assistant)));
    expect(keptAfter).toEqual(keptBefore);

    // Logged, counted and audited.
    const audits = await sql<{ actor: string; counts: unknown }>`
      SELECT actor, counts FROM admin_audit WHERE action = 'retention.sweep'`.execute(db());
    expect(audits.rows.length).toBeGreaterThan(0);
    expect(new Set(audits.rows.map((r) => r.actor))).toEqual(new Set([SWEEPER_ACTOR]));
    const swept = audits.rows.reduce((n, r) => n + (asObject(r.counts) as { sessions: number }).sessions, 0);
    expect(swept).toBe(8 + 72);
    expect(t.logs.text()).toContain('retention sweep deleted sessions');
    expect(t.app.metrics).toBeInstanceOf(PrometheusMetrics);
    const text = await (t.app.metrics as PrometheusMetrics).registry.metrics();
    expect(text).toContain(`catsyphon_ingest_retention_deleted_total{kind="sessions"} ${8 + 72}`);

    // A deleted session sent again is stored as new.
    const again = await short.client.export({ sessions: [richSession('short-old-0')] });
    expect(again.results[0].status).toBe(SessionStatus.SESSION_STATUS_CREATED);
    await t.app.lifecycle.setRetention('short', null);
  }, 120_000);

  test('collector purge deletes exactly what that collector sent; a dry run deletes nothing', async () => {
    await t.app.collectors.createWorkspace({ name: 'Purge', slug: 'purge' });
    const gone = await collector('purge', 'stolen-laptop');
    const kept = await collector('purge', 'desk');
    const goneSessions = [richSession('p-gone-1', { project: 'shared' }), richSession('p-gone-2', { project: 'laptop-only' })];
    const keptSessions = [richSession('p-kept-1', { project: 'shared' }), richSession('p-kept-2', { email: 'other@x.io' })];
    await gone.client.export({ sessions: goneSessions });
    await kept.client.export({ sessions: keptSessions });
    const keptBefore = await Promise.all(keptSessions.map((s) => kept.client.getSession(s.id, s.assistant)));
    const before = await tableCounts(db());

    const dry = await t.app.lifecycle.purgeCollector(gone.id, { dryRun: true, actor });
    expect(dry).toMatchObject({ action: 'collector.purge', dryRun: true });
    expect(dry.counts).toMatchObject({ sessions: 2, threads: 2, messages: 8, filesTouched: 2, plans: 2, projects: 1, developers: 0 });
    expect(await tableCounts(db())).toEqual(before);
    expect((await t.app.collectors.listCollectors('purge')).find((c) => c.id === gone.id)?.status).toBe('active');

    const report = await t.app.lifecycle.purgeCollector(gone.id, { actor });
    expect(report.counts).toEqual(dry.counts);
    const after = await tableCounts(db());
    expect(after).toEqual({
      ...before,
      sessions: before.sessions - 2,
      threads: before.threads - 2,
      messages: before.messages - 8,
      files_touched: before.files_touched - 2,
      plans: before.plans - 2,
      projects: before.projects - 1,
    });
    expect(await Promise.all(keptSessions.map((s) => kept.client.getSession(s.id, s.assistant)))).toEqual(keptBefore);
    await expect(kept.client.getSession('p-gone-1', goneSessions[0].assistant)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    // The collector stays, revoked, and its key no longer works.
    expect((await t.app.collectors.listCollectors('purge')).find((c) => c.id === gone.id)?.status).toBe('revoked');
    await expect(gone.client.export({ sessions: goneSessions })).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(await orphanCounts(db())).toMatchObject({ threads: 0, messages: 0, files_touched: 0, plans: 0, projects: 0, developers: 0 });

    const entry = await sql<Record<string, unknown>>`
      SELECT * FROM admin_audit WHERE action = 'collector.purge' ORDER BY id DESC LIMIT 1`.execute(db());
    expect(Object.keys(entry.rows[0]).sort()).toEqual([...ADMIN_AUDIT_FIELDS].sort());
    expect(entry.rows[0]).toMatchObject({ actor });
    expect(asObject(entry.rows[0].target)).toMatchObject({ collectorId: gone.id });
    expect(asObject(entry.rows[0].counts)).toMatchObject({ sessions: 2, messages: 8 });
    expect(JSON.stringify(entry.rows[0], (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).not.toContain('xxxx'); // no message content

    // --delete-collector removes the row as well.
    const temp = await collector('purge', 'temp');
    await temp.client.export({ sessions: [richSession('p-temp')] });
    const withRow = await t.app.lifecycle.purgeCollector(temp.id, { actor, deleteCollector: true });
    expect(withRow.counts).toMatchObject({ sessions: 1, collectors: 1 });
    expect((await t.app.collectors.listCollectors('purge')).map((c) => c.id)).not.toContain(temp.id);
  });

  test('developer purge deletes every session of that email in the workspace, nothing else', async () => {
    await t.app.collectors.createWorkspace({ name: 'Devs', slug: 'devs' });
    await t.app.collectors.createWorkspace({ name: 'Elsewhere', slug: 'elsewhere' });
    const c = await collector('devs', 'devs-box');
    const elsewhere = await collector('elsewhere', 'elsewhere-box');
    const alice = [richSession('alice-1', { email: 'alice@x.io' }), richSession('alice-2', { email: 'alice@x.io' })];
    alice[1].developer!.metadata = { team: 'core' }; // a second developers row for the same email
    const bob = [richSession('bob-1', { email: 'bob@x.io' })];
    await c.client.export({ sessions: [...alice, ...bob] });
    await elsewhere.client.export({ sessions: [richSession('alice-other-ws', { email: 'alice@x.io' })] });
    const keep = [
      await c.client.getSession('bob-1', bob[0].assistant),
      await elsewhere.client.getSession('alice-other-ws', bob[0].assistant),
    ];
    const before = await tableCounts(db());

    const dry = await t.app.lifecycle.purgeDeveloper('devs', 'ALICE@x.io', { dryRun: true, actor });
    expect(dry.counts).toMatchObject({ sessions: 2, messages: 8, developers: 2, projects: 0 });
    expect(await tableCounts(db())).toEqual(before);

    const report = await t.app.lifecycle.purgeDeveloper('devs', 'ALICE@x.io', { actor });
    expect(report.counts).toEqual(dry.counts);
    expect(await tableCounts(db())).toEqual({
      ...before,
      sessions: before.sessions - 2,
      threads: before.threads - 2,
      messages: before.messages - 8,
      files_touched: before.files_touched - 2,
      plans: before.plans - 2,
      developers: before.developers - 2,
    });
    expect([
      await c.client.getSession('bob-1', bob[0].assistant),
      await elsewhere.client.getSession('alice-other-ws', bob[0].assistant),
    ]).toEqual(keep);
    expect(await orphanCounts(db())).toMatchObject({ developers: 0, projects: 0, messages: 0 });
  });

  test('sessions delete and workspace delete --purge; dry runs delete nothing', async () => {
    await t.app.collectors.createWorkspace({ name: 'Doomed', slug: 'doomed' });
    const c = await collector('doomed', 'doomed-box');
    await c.client.export({ sessions: [richSession('d-1'), richSession('d-2'), richSession('d-3')] });
    const ids = (await t.app.lifecycle.listSessions({ workspace: 'doomed' })).map((s) => s.id);
    const before = await tableCounts(db());

    expect((await t.app.lifecycle.deleteSessions([ids[0]], { dryRun: true, actor })).counts).toMatchObject({ sessions: 1, messages: 4 });
    expect(await tableCounts(db())).toEqual(before);
    const one = await t.app.lifecycle.deleteSessions([ids[0]], { actor });
    expect(one.counts).toMatchObject({ sessions: 1, threads: 1, messages: 4, filesTouched: 1, plans: 1, projects: 0 });
    await expect(t.app.lifecycle.deleteSessions([ids[0]], { actor })).rejects.toMatchObject({ kind: 'not_found' });

    const dry = await t.app.lifecycle.deleteWorkspace('doomed', { dryRun: true, actor });
    expect(dry.counts).toMatchObject({ sessions: 2, messages: 8, collectors: 1, workspaces: 1, projects: 1, developers: 1 });
    expect((await tableCounts(db())).sessions).toBe(before.sessions - 1);
    const report = await t.app.lifecycle.deleteWorkspace('doomed', { actor });
    expect(report.counts).toMatchObject({ sessions: 2, messages: 8, collectors: 1, workspaces: 1, projects: 1, developers: 1 });
    expect((await t.app.collectors.listWorkspaces()).map((w) => w.slug)).not.toContain('doomed');
    await expect(c.client.export({ sessions: [richSession('d-4')] })).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    expect(await orphanCounts(db())).toMatchObject({ threads: 0, messages: 0, projects: 0, developers: 0 });
    // The audit trail of the workspace's calls stays until AUDIT_RETENTION.
    expect((await t.app.lifecycle.listBatches({ collector: c.id })).length).toBeGreaterThan(0);
    const actions = await sql<{ action: string }>`SELECT action FROM admin_audit ORDER BY id`.execute(db());
    expect(actions.rows.map((r) => r.action)).toEqual(expect.arrayContaining(['sessions.delete', 'workspace.delete']));
  });

  test('audit records past AUDIT_RETENTION are pruned by the sweep', async () => {
    const before = (await t.app.lifecycle.listBatches({ workspace: 'audit' })).map((b) => b.batchId);
    expect(before.filter((id) => id === 'audit-1')).toHaveLength(2);
    await sql`UPDATE ingest_audit SET received_at = now() - interval '100 days' WHERE batch_id = 'audit-1'`.execute(db());
    await t.app.lifecycle.sweepRetention();
    const after = (await t.app.lifecycle.listBatches({ workspace: 'audit' })).map((b) => b.batchId);
    expect(after).toEqual(before.filter((id) => id !== 'audit-1'));
  });
});
