import * as grpc from '@grpc/grpc-js';
import { type App, startApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { SessionIngestionClient, SessionStatus } from '../../generated/catsyphon/telemetry/v1/sessions';
import { FakeAuthenticator } from '../helpers/fake-auth';
import { captureLogger } from '../helpers/log-capture';
import { PrivatePostgres } from '../helpers/private-postgres';
import { bearer, exportOutcome, request } from '../helpers/protect-client';
import { simpleSession } from '../helpers/session-gen';
import { createHealthClient } from '../helpers/test-app';
import { postgresBinaries, requires } from '../helpers/requirements';

const SERVICE = 'catsyphon.telemetry.v1.SessionIngestion';

/**
 * The database goes away under a running server (a private cluster, stopped
 * with pg_ctl) and comes back: health flips to NOT_SERVING and back, calls in
 * between get UNAVAILABLE with RetryInfo without waiting on the database, and
 * the same process ingests again afterwards.
 */
requires([postgresBinaries()]).describe('database outage: health, fast UNAVAILABLE, recovery without restart', () => {
  let pg: PrivatePostgres;
  let app: App;
  let client: SessionIngestionClient;
  let health: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  let token: string;

  const status = (service = ''): Promise<string> =>
    new Promise((resolve, reject) =>
      health.check({ service }, (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res.status))),
    );
  /** Polls health until it reports `want` (each check is a real RPC; the test timeout bounds the wait). */
  const until = async (want: string): Promise<void> => {
    while ((await status()) !== want) await new Promise((r) => setTimeout(r, 25));
  };
  const storedSessions = async (): Promise<number> =>
    (await app.database.db.selectFrom('sessions').select('id').execute()).length;

  beforeAll(async () => {
    pg = await PrivatePostgres.create();
    const config = loadConfig({
      GRPC_HOST: '127.0.0.1',
      METRICS_PORT: '0', OTLP_HTTP_PORT: '0',
      GRPC_PORT: '0',
      DATABASE_URL: pg.url,
      DB_HEALTH_INTERVAL_MS: '100ms',
      DB_CONNECT_TIMEOUT_MS: '2s',
      RPC_TIMEOUT_MS: '20s',
      SHUTDOWN_GRACE_MS: '2s',
    });
    const auth = new FakeAuthenticator();
    app = await startApp(config, captureLogger('warn').logger, { authenticator: auth });
    ({ token } = await auth.seedCaller(app.database.db));
    const address = `127.0.0.1:${app.server.port}`;
    client = new SessionIngestionClient(address, grpc.credentials.createInsecure());
    health = createHealthClient(address);
  }, 120_000);
  afterAll(async () => {
    client?.close();
    health?.close();
    await app?.stop();
    pg?.destroy();
  });

  test('stop the database: NOT_SERVING and UNAVAILABLE; start it: SERVING and ingestion resumes, same process', async () => {
    const first = await exportOutcome(client, request('before', [simpleSession('before')]), bearer(token));
    expect(first.code).toBe(grpc.status.OK);
    expect(await status()).toBe('SERVING');

    pg.stop();
    try {
      await until('NOT_SERVING');
      expect(await status(SERVICE)).toBe('NOT_SERVING');
      expect(app.protection.databaseHealth.available).toBe(false);

      // Every call during the outage is refused with a retryable status, none
      // waits for the server-side deadline (that would be DEADLINE_EXCEEDED).
      const during = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          exportOutcome(client, request(`during-${i}`, [simpleSession(`during-${i}`)]), bearer(token)),
        ),
      );
      for (const result of during) {
        expect(result.code).toBe(grpc.status.UNAVAILABLE);
        expect(result.details).toMatch(/database unavailable/);
        expect(result.statusDetails?.retryDelayMs).toBeGreaterThan(0);
      }
    } finally {
      pg.start();
    }

    await until('SERVING');
    expect(await status(SERVICE)).toBe('SERVING');
    // Nothing was cached for the refused batch ids: the same ones are ingested now.
    for (let i = 0; i < 3; i++) {
      const retry = await exportOutcome(client, request(`during-${i}`, [simpleSession(`during-${i}`)]), bearer(token));
      expect(retry.code).toBe(grpc.status.OK);
      expect(retry.response?.results[0].status).toBe(SessionStatus.SESSION_STATUS_CREATED);
    }
    // Nothing half-written: exactly the sessions of the successful calls exist.
    expect(await storedSessions()).toBe(4);
  });

  test('a second outage is detected by a failing call as well as by the periodic check', async () => {
    pg.stop();
    try {
      // The first call may hit the database before the next periodic check: it still gets UNAVAILABLE.
      const result = await exportOutcome(client, request('second', [simpleSession('second')]), bearer(token));
      expect(result.code).toBe(grpc.status.UNAVAILABLE);
      await until('NOT_SERVING');
    } finally {
      pg.start();
    }
    await until('SERVING');
    const retry = await exportOutcome(client, request('second', [simpleSession('second')]), bearer(token));
    expect(retry.code).toBe(grpc.status.OK);
    expect(await storedSessions()).toBe(5);
  });
});
