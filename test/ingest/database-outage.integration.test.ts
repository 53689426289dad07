import * as grpc from '@grpc/grpc-js';
import { type App, startApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { type Session, SessionStatus } from '../../generated/catsyphon/telemetry/v1/sessions';
import { FakeAuthenticator } from '../helpers/fake-auth';
import { IngestClient } from '../helpers/ingest-client';
import { captureLogger } from '../helpers/log-capture';
import { PrivatePostgres } from '../helpers/private-postgres';
import { simpleSession } from '../helpers/session-gen';
import { postgresBinaries, requires } from '../helpers/requirements';

/**
 * Stops a private PostgreSQL cluster under a running server: calls get
 * UNAVAILABLE, nothing is cached for their batch_id, and once the database is
 * back the same server (no restart) serves the retries.
 */
/**
 * Right after a restart a pooled connection may still be the dead one, so
 * the first call can get UNAVAILABLE once: a client retries, and so does this.
 */
async function afterRestart<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const e = err as { code?: unknown; message?: string };
      const retryable = e.code === grpc.status.UNAVAILABLE || /Connection terminated|ECONNREFUSED/.test(String(e.message));
      if (!retryable || attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

requires([postgresBinaries()]).describe('database outage', () => {
  let pg: PrivatePostgres;
  let app: App;
  let client: IngestClient;
  beforeAll(async () => {
    pg = await PrivatePostgres.create();
    const config = loadConfig({
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: '0', OTLP_HTTP_PORT: '0',
      DATABASE_URL: pg.url,
      DB_CONNECT_TIMEOUT_MS: '2s',
      SHUTDOWN_GRACE_MS: '2s',
      IDEMPOTENCY_STALE_MS: '1s',
      IDEMPOTENCY_WAIT_MS: '20s',
      INGEST_STREAM_CHUNK_SESSIONS: '5',
    });
    const auth = new FakeAuthenticator();
    app = await startApp(config, captureLogger('warn').logger, { authenticator: auth });
    const { token } = await auth.seedCaller(app.database.db);
    client = new IngestClient(`127.0.0.1:${app.server.port}`, token);
  }, 120_000);
  afterAll(async () => {
    client?.close();
    await app?.stop();
    pg?.destroy();
  });

  test('unary: UNAVAILABLE while the database is down, then the same batch_id is ingested', async () => {
    expect((await client.export({ sessions: [simpleSession('before')] })).results[0].status).toBe(
      SessionStatus.SESSION_STATUS_CREATED,
    );
    pg.stop();
    try {
      await expect(client.export({ batchId: 'outage-1', sessions: [simpleSession('during')] })).rejects.toMatchObject({
        code: grpc.status.UNAVAILABLE,
      });
    } finally {
      pg.start();
    }
    const retry = await afterRestart(() => client.export({ batchId: 'outage-1', sessions: [simpleSession('during')] }));
    expect(retry.results[0].status).toBe(SessionStatus.SESSION_STATUS_CREATED);
  });

  test('stream: the database stops mid-stream; UNAVAILABLE, then a retry with the same x-batch-id completes', async () => {
    const sessions: Session[] = Array.from({ length: 40 }, (_, i) => simpleSession(`mid-${i}`, 2, 5));
    const stored = async () =>
      (await app.database.db.selectFrom('sessions').select('id').where('source_session_id', 'like', 'mid-%').execute()).length;
    const failed = new Promise<grpc.ServiceError | null>((resolve) => {
      const call = client.ingestion.exportSessionsStream(client.metadata({ 'x-batch-id': 'mid-stream' }), (err) => resolve(err));
      void (async () => {
        for (let i = 0; i < 20; i += 4) call.write({ sessions: sessions.slice(i, i + 4) });
        // Stop the database once the server has committed part of the stream.
        while ((await stored()) < 5) await new Promise((r) => setTimeout(r, 20));
        pg.stop();
        for (let i = 20; i < 40; i += 4) call.write({ sessions: sessions.slice(i, i + 4) });
        call.end();
      })();
    });
    try {
      expect(await failed).toMatchObject({ code: grpc.status.UNAVAILABLE });
    } finally {
      pg.start();
    }
    const before = await afterRestart(stored);
    expect(before).toBeGreaterThanOrEqual(5);
    expect(before).toBeLessThan(40);
    // The failed owner could not release its claim (no database); it goes stale and the retry takes it over.
    const res = await afterRestart(() => client.stream([sessions.slice(0, 20), sessions.slice(20)], 'mid-stream'));
    expect(res.results).toHaveLength(40);
    expect(res.metrics).toMatchObject({ sessionsDuplicate: before, sessionsCreated: 40 - before, sessionsFailed: 0 });
    expect(await stored()).toBe(40);
    expect((await client.getSession('mid-39', 1)).session).toEqual(sessions[39]);
  });
});
