import { spawn } from 'node:child_process';
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
  SessionIngestionService,
} from '../../generated/catsyphon/telemetry/v1/sessions';
import { FakeAuthenticator } from '../helpers/fake-auth';
import { captureLogger } from '../helpers/log-capture';
import { createHealthClient } from '../helpers/test-app';

const checkHealth = (client: any, service = ''): Promise<string> =>
  new Promise((resolve, reject) =>
    client.check({ service }, (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res.status))),
  );

/** A fresh embedded database takes 30-45 s to create on a busy 2-core machine. */
const SLOW_MS = 240_000;

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
      database,
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
  }, SLOW_MS);

  test('the built server exits 0 on SIGTERM and on SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'cs-shutdown-'));
      try {
        const child = spawn(process.execPath, [path.resolve(__dirname, '../../dist/src/cli/main.js'), 'serve'], {
          env: { PATH: process.env.PATH, DATA_DIR: dataDir, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', LOG_LEVEL: 'info' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (out += d));
        const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
        await waitFor(() => /gRPC server listening/.test(out), () => out);
        child.kill(signal);
        expect(await exited).toBe(0);
        expect(out).toMatch(/shutdown complete/);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  }, SLOW_MS);
});

async function waitFor(check: () => boolean, describe: () => string, timeoutMs = 150_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out; output so far:\n${describe()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
