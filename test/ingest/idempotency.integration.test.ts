import * as grpc from '@grpc/grpc-js';
import { sql } from 'kysely';
import { ignoreCollectorActivity } from '../../src/auth/collector-info';
import { loadConfig } from '../../src/config/config';
import { createServer, type IngestServer } from '../../src/grpc/server';
import { hashSessions } from '../../src/ingest/request-hash';
import { sessionIngestionGrpc } from '../../src/grpc/services/session-ingestion.grpc';
import { createIdempotencyService } from '../../src/ingest/idempotency.service';
import { ExportSessionsRequest, SessionStatus } from '../../generated/catsyphon/telemetry/v1/sessions';
import { FakeAuthenticator } from '../helpers/fake-auth';
import { decodeResponse, IngestClient } from '../helpers/ingest-client';
import { simpleSession } from '../helpers/session-gen';
import { startTestApp, type TestApp } from '../helpers/test-app';

describe('batch_id idempotency', () => {
  let t: TestApp;
  let auth: FakeAuthenticator;
  let client: IngestClient;
  let workspaceId: string;
  let token: string;
  let second: IngestServer;
  let secondClient: IngestClient;
  const db = () => t.app.database.db;
  const count = async (table: 'sessions' | 'messages' | 'threads') =>
    Number((await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(db())).rows[0].n);

  beforeAll(async () => {
    auth = new FakeAuthenticator();
    t = await startTestApp(
      { IDEMPOTENCY_WAIT_MS: '20s', IDEMPOTENCY_STALE_MS: '2s', IDEMPOTENCY_PURGE_INTERVAL_MS: '200ms' },
      { authenticator: auth },
    );
    const seeded = await auth.seedCaller(db());
    workspaceId = seeded.caller.workspaceId;
    token = seeded.token;
    client = new IngestClient(t.address, seeded.token);
    // A second server instance ("replica") on the same database.
    const config = t.config;
    const database = t.app.database;
    const idempotency = createIdempotencyService(config, database, { logger: t.logs.logger });
    second = createServer(config, {
      logger: t.logs.logger,
      authenticator: auth,
      services: (rpc) => [sessionIngestionGrpc(config, { database, activity: ignoreCollectorActivity, idempotency }, rpc)],
    });
    await second.start();
    secondClient = new IngestClient(`127.0.0.1:${second.port}`, seeded.token);
  });
  afterAll(async () => {
    client.close();
    secondClient.close();
    await second.stop();
    await t.close();
  });

  const request = (batchId: string, ids: string[], messages = 3): ExportSessionsRequest => ({
    batchId,
    collector: undefined,
    sessions: ids.map((id) => simpleSession(id, 2, messages)),
  });

  test('a replay returns identical bytes and writes nothing', async () => {
    const req = request('replay-1', ['r1', 'r2']);
    const first = await client.exportRaw(req);
    expect(decodeResponse(first).results.map((r) => r.status)).toEqual([1, 1]);
    const before = await Promise.all([count('sessions'), count('threads'), count('messages')]);
    const stamps = await db().selectFrom('sessions').select(['id', 'updated_at']).orderBy('id').execute();
    // A different collector hostname does not make it a different payload.
    const replay = await client.exportRaw({ ...req, collector: { type: 'x', version: '2', hostname: 'other', collectorId: '', workspaceId: '', metadata: {} } });
    expect(replay.equals(first)).toBe(true);
    expect(await Promise.all([count('sessions'), count('threads'), count('messages')])).toEqual(before);
    expect(await db().selectFrom('sessions').select(['id', 'updated_at']).orderBy('id').execute()).toEqual(stamps);
    // The other replica replays the same bytes too (the record lives in the database).
    expect((await secondClient.exportRaw(req)).equals(first)).toBe(true);
  });

  test('a retry that writes map entries in another order replays (Go and prost re-marshal maps randomly)', async () => {
    const withMaps = (order: string[]): ExportSessionsRequest => {
      const req = request('map-order-1', ['mo1']);
      const map = Object.fromEntries(order.map((k) => [k, `v-${k}`]));
      const s = req.sessions[0];
      s.metadata = map;
      s.threads[0].metadata = map;
      for (const m of s.threads[0].messages) m.metadata = map;
      return req;
    };
    const a = withMaps(['alpha', 'beta', 'gamma']);
    const b = withMaps(['gamma', 'alpha', 'beta']);
    expect(Buffer.from(ExportSessionsRequest.encode(a).finish()).equals(Buffer.from(ExportSessionsRequest.encode(b).finish()))).toBe(false);
    const first = await client.exportRaw(a);
    expect(decodeResponse(first).results[0].status).toBe(SessionStatus.SESSION_STATUS_CREATED);
    expect((await client.exportRaw(b)).equals(first)).toBe(true);
    expect((await secondClient.exportRaw(b)).equals(first)).toBe(true);
  });

  test('an exact resend of a cached batch is answered without decoding its sessions', async () => {
    const req = request('resend-1', ['rs1', 'rs2']);
    const first = await client.exportRaw(req);
    // The first replay goes through the canonical hash and teaches the cache the request's wire digest.
    expect((await client.exportRaw(req)).equals(first)).toBe(true);
    const decode = jest.spyOn(ExportSessionsRequest, 'decode');
    try {
      expect((await client.exportRaw(req)).equals(first)).toBe(true);
      expect(decode).not.toHaveBeenCalled();
      // Different bytes (another collector hostname) take the canonical path, and still replay.
      const other = { ...req, collector: { type: 'x', version: '3', hostname: 'h2', collectorId: '', workspaceId: '', metadata: {} } };
      expect((await client.exportRaw(other)).equals(first)).toBe(true);
      expect(decode).toHaveBeenCalled();
    } finally {
      decode.mockRestore();
    }
  });

  test('the same batch_id with a different payload is refused with ALREADY_EXISTS', async () => {
    await client.export(request('reuse-1', ['u1']));
    await expect(client.export(request('reuse-1', ['u1', 'u2']))).rejects.toMatchObject({
      code: grpc.status.ALREADY_EXISTS,
      details: expect.stringContaining('different payload'),
    });
    await expect(client.getSession('u2', 1)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  test('one workspace never receives another workspace\'s cached response', async () => {
    const other = await auth.seedCaller(db(), 'other');
    const otherClient = new IngestClient(t.address, other.token);
    try {
      const req = request('shared-batch-id', ['iso-1']);
      const mine = decodeResponse(await client.exportRaw(req));
      const theirs = decodeResponse(await otherClient.exportRaw(req));
      expect(mine.results[0].status).toBe(SessionStatus.SESSION_STATUS_CREATED);
      expect(theirs.results[0].status).toBe(SessionStatus.SESSION_STATUS_CREATED);
      expect(theirs.results[0].catsyphonId).not.toBe(mine.results[0].catsyphonId);
      // Sessions are isolated too: a session only the other workspace has is not found here.
      await otherClient.export({ sessions: [simpleSession('only-theirs')] });
      await expect(client.getSession('only-theirs', 1)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
      expect((await otherClient.getSession('only-theirs', 1)).session?.id).toBe('only-theirs');
    } finally {
      otherClient.close();
    }
  });

  test('the same batch_id sent concurrently to two server instances is ingested exactly once', async () => {
    for (let round = 0; round < 4; round++) {
      const ids = Array.from({ length: 20 }, (_, i) => `conc-${round}-${i}`);
      const req = request(`conc-${round}`, ids, 40);
      const outcomes = await Promise.allSettled([client.exportRaw(req), secondClient.exportRaw(req)]);
      const ok = outcomes.filter((o): o is PromiseFulfilledResult<Buffer> => o.status === 'fulfilled').map((o) => o.value);
      for (const o of outcomes) {
        if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: grpc.status.ABORTED, details: 'batch in progress, retry' });
      }
      expect(ok.length).toBeGreaterThanOrEqual(1);
      const decoded = decodeResponse(ok[0]);
      expect(decoded.results.map((r) => r.status)).toEqual(ids.map(() => SessionStatus.SESSION_STATUS_CREATED));
      for (const bytes of ok) expect(bytes.equals(ok[0])).toBe(true);
      const stored = await db().selectFrom('sessions').select('id').where('source_session_id', 'in', ids).execute();
      expect(stored).toHaveLength(20);
      expect(stored.map((s) => s.id).sort()).toEqual(decoded.results.map((r) => r.catsyphonId).sort());
    }
  });

  test('a call waiting on an in-progress batch gets ABORTED "batch in progress, retry" after IDEMPOTENCY_WAIT_MS', async () => {
    const req = request('stuck', ['stuck-1']);
    await db()
      .insertInto('ingest_batches')
      .values({ workspace_id: workspaceId, batch_id: 'stuck', request_hash: hashSessions(req.sessions), state: 'in_progress', owner: 'someone', expires_at: new Date(Date.now() + 3_600_000) })
      .execute();
    // Keep the owner alive with heartbeats while the call waits.
    const beat = setInterval(() => void sql`UPDATE ingest_batches SET heartbeat_at = now() WHERE batch_id = 'stuck'`.execute(db()), 200);
    const waitShort = await startSecondWithWait('500ms');
    try {
      await expect(waitShort.client.exportRaw(req)).rejects.toMatchObject({ code: grpc.status.ABORTED, details: 'batch in progress, retry' });
      await expect(client.getSession('stuck-1', 1)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    } finally {
      clearInterval(beat);
      await waitShort.close();
    }
    // Once the owner stops beating for IDEMPOTENCY_STALE_MS, a retry takes the batch over.
    await sql`UPDATE ingest_batches SET heartbeat_at = now() - interval '1 hour' WHERE batch_id = 'stuck'`.execute(db());
    const taken = await client.exportRaw(req);
    expect(decodeResponse(taken).results[0].status).toBe(SessionStatus.SESSION_STATUS_CREATED);
    expect((await client.exportRaw(req)).equals(taken)).toBe(true);
  });

  test('expired records are not replayed and are purged in the background', async () => {
    const req = request('expiring', ['exp-1']);
    const first = decodeResponse(await client.exportRaw(req));
    expect(first.results[0].status).toBe(SessionStatus.SESSION_STATUS_CREATED);
    await sql`UPDATE ingest_batches SET expires_at = now() - interval '1 second' WHERE batch_id = 'expiring'`.execute(db());
    // Either the purge already removed it or the lookup skips it: the batch is processed again.
    // (The other replica asks, since this one keeps the response in memory until the TTL it knows.)
    const again = decodeResponse(await secondClient.exportRaw(req));
    expect(again.results[0].status).toBe(SessionStatus.SESSION_STATUS_DUPLICATE);
    await sql`UPDATE ingest_batches SET expires_at = now() - interval '1 second' WHERE batch_id = 'expiring'`.execute(db());
    const deadline = Date.now() + 10_000;
    let left = 1;
    while (left > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      left = (await db().selectFrom('ingest_batches').select('batch_id').where('batch_id', '=', 'expiring').execute()).length;
    }
    expect(left).toBe(0);
  });

  async function startSecondWithWait(wait: string) {
    const config = loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', IDEMPOTENCY_WAIT_MS: wait, SHUTDOWN_GRACE_MS: '1s', ...t.testDb.env });
    const database = t.app.database;
    const idempotency = createIdempotencyService(config, database, { logger: t.logs.logger });
    const server = createServer(config, {
      logger: t.logs.logger,
      authenticator: auth,
      services: (rpc) => [sessionIngestionGrpc(config, { database, activity: ignoreCollectorActivity, idempotency }, rpc)],
    });
    await server.start();
    const c = new IngestClient(`127.0.0.1:${server.port}`, token);
    return { client: c, close: async () => { c.close(); await server.stop(); } };
  }
});
