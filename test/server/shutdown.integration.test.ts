import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadConfig } from '../../src/config/config';
import { fromPglite } from '../../src/db/database';
import { clientStream, unary } from '../../src/grpc/rpc';
import { createServer } from '../../src/grpc/server';
import { PGlite } from '@electric-sql/pglite';
import {
  type ExportSessionsRequest,
  type ExportSessionsResponse,
  SessionIngestionClient,
  SessionStatus,
  SessionIngestionService,
} from '../../generated/catsyphon/telemetry/v1/sessions';
import { bearer } from '../helpers/auth-fixtures';
import { startServer, runCli } from '../helpers/cli-process';
import { FakeAuthenticator } from '../helpers/fake-auth';
import { simpleSession } from '../helpers/session-gen';
import { captureLogger } from '../helpers/log-capture';
import { createHealthClient } from '../helpers/test-app';

const checkHealth = (client: any, service = ''): Promise<string> =>
  new Promise((resolve, reject) =>
    client.check({ service }, (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res.status))),
  );

describe('graceful shutdown', () => {
  test('stop() turns health NOT_SERVING, lets the in-flight call finish, then stops', async () => {
    const database = fromPglite(await PGlite.create());
    const { migrateToLatest } = await import('../../src/db/migrate');
    const { logger } = captureLogger();
    await migrateToLatest(database.db, logger);
    const auth = new FakeAuthenticator();
    const { token } = await auth.seedCaller(database.db);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const handlerEntered = new Promise<void>((resolve) => (entered = resolve));
    const config = loadConfig({ GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', SHUTDOWN_GRACE_MS: '30s', DATA_DIR: 'memory://' });
    const server = createServer(config, {
      logger,
      authenticator: auth,
      services: (rpc) => [
        {
          name: 'catsyphon.telemetry.v1.SessionIngestion',
          definition: SessionIngestionService,
          implementation: {
            exportSessions: unary<ExportSessionsRequest, ExportSessionsResponse>(
              'ExportSessions',
              async (req) => {
                entered();
                await gate;
                return { batchId: req.batchId, status: 1, results: [] };
              },
              rpc,
            ),
            exportSessionsStream: clientStream('ExportSessionsStream', async () => ({ batchId: '', status: 1, results: [] }), rpc),
          },
        },
      ],
    });
    const port = await server.start();
    const client = new SessionIngestionClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const health = createHealthClient(`127.0.0.1:${port}`);
    try {
      expect(await checkHealth(health)).toBe('SERVING');
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${token}`);
      const call = new Promise<ExportSessionsResponse>((resolve, reject) =>
        client.exportSessions({ batchId: 'in-flight', sessions: [] }, metadata, (err, res) => (err ? reject(err) : resolve(res))),
      );
      await handlerEntered;
      const stopped = server.stop();
      expect(await checkHealth(health)).toBe('NOT_SERVING');
      expect(await checkHealth(health, 'catsyphon.telemetry.v1.SessionIngestion')).toBe('NOT_SERVING');
      expect(server.inFlight.size).toBe(1);
      release();
      await expect(call).resolves.toMatchObject({ batchId: 'in-flight' });
      await stopped;
      expect(server.inFlight.size).toBe(0);
    } finally {
      client.close();
      health.close();
      await database.destroy();
    }
  }, 300_000);

  test(
    'SIGTERM to the built server during an in-flight stream: the call completes, health reads NOT_SERVING meanwhile, exit 0',
    async () => {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'cs-shutdown-'));
      const env = { DATA_DIR: dataDir, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', METRICS_PORT: '0', OTLP_HTTP_PORT: '0', SHUTDOWN_GRACE_MS: '60s' };
      const server = await startServer(env, /gRPC server listening/);
      const address = `127.0.0.1:${server.port}`;
      const client = new SessionIngestionClient(address, grpc.credentials.createInsecure());
      const health = createHealthClient(address);
      try {
        expect((await runCli(['workspace', 'create', '--name', 'demo', '--slug', 'demo', '--json'], env)).code).toBe(0);
        const created = await runCli(['collector', 'create', '--workspace', 'demo', '--name', 'laptop', '--json'], env);
        expect(created.code).toBe(0);
        const { apiKey: key } = JSON.parse(created.stdout) as { apiKey: string };

        let answer!: (v: { err: grpc.ServiceError | null; res?: ExportSessionsResponse }) => void;
        const response = new Promise<{ err: grpc.ServiceError | null; res?: ExportSessionsResponse }>((r) => (answer = r));
        const stream = client.exportSessionsStream(bearer(key), (err, res) => answer({ err, res }));
        stream.write({ sessions: [simpleSession('in-flight-1')] });
        await waitUntil(async () => (await checkHealth(health)) === 'SERVING');

        const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
        server.child.kill('SIGTERM');
        await waitUntil(async () => (await checkHealth(health)) === 'NOT_SERVING');
        stream.write({ sessions: [simpleSession('in-flight-2')] });
        stream.end();

        const { err, res } = await response;
        expect(err).toBeNull();
        expect(res?.results.map((r) => [r.sessionId, r.status])).toEqual([
          ['in-flight-1', SessionStatus.SESSION_STATUS_CREATED],
          ['in-flight-2', SessionStatus.SESSION_STATUS_CREATED],
        ]);
        expect(await exited).toBe(0);
        expect(server.output()).toMatch(/shutdown complete/);
      } finally {
        client.close();
        health.close();
        await server.stop('SIGKILL');
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
    300_000,
  );

  test('the built server exits 0 on SIGINT', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'cs-shutdown-'));
    try {
      const server = await startServer({ DATA_DIR: dataDir, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', METRICS_PORT: '0', OTLP_HTTP_PORT: '0' }, /gRPC server listening/);
      expect(await server.stop('SIGINT')).toBe(0);
      expect(server.output()).toMatch(/shutdown complete/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 300_000);
});

/** Polls an async condition (health answers change asynchronously in another process). */
async function waitUntil(check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
