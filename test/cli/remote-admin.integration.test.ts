import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { SessionIngestionClient } from '../../generated/catsyphon/telemetry/v1/sessions';
import { bearer, exportStatus } from '../helpers/auth-fixtures';
import { type CliResult, ensureBuilt, runCli, type ServerProcess, startServer } from '../helpers/cli-process';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

/**
 * `catsyphon-ingest --server host:port --admin-key …`: the CLI in its own
 * process administering a server process (ADMIN_API=on) over its gRPC port,
 * after bootstrapping an admin key locally (`admin-key create`: through the
 * admin socket on the embedded database, directly on PostgreSQL).
 */
const SLOW = 240_000;
const TLS = path.join(__dirname, '..', 'fixtures', 'tls');

const json = <T = Record<string, any>>(r: CliResult): T => {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as T;
};

describe.each([
  ['plaintext', false],
  ['TLS', true],
])('remote admin CLI over %s', (_label, tls) => {
  let dir: string;
  let db: TestDatabase;
  let localEnv: Record<string, string>;
  let server: ServerProcess;
  let ingestion: SessionIngestionClient;
  let adminKey: string;
  const remote = (...args: string[]) => {
    const flags = ['--server', `127.0.0.1:${server.port}`, '--admin-key', adminKey];
    // The certificate names localhost (an IP as TLS server name draws a Node deprecation warning).
    if (tls) flags.push('--ca', path.join(TLS, 'ca.pem'), '--server-name', 'localhost');
    return runCli([...flags, ...args], {});
  };

  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'cs-remote-admin-'));
    db = await createTestDatabase();
    localEnv = db.kind === 'postgres' ? { ...db.env } : { DATA_DIR: path.join(dir, 'data') };
    localEnv.BCRYPT_COST = '4';
    server = await startServer(
      {
        ...localEnv,
        ADMIN_API: 'on',
        GRPC_HOST: '127.0.0.1',
        GRPC_PORT: '0',
        LOG_FORMAT: 'json',
        SHUTDOWN_GRACE_MS: '2s',
        ...(tls ? { TLS_CERT_FILE: path.join(TLS, 'server.pem'), TLS_KEY_FILE: path.join(TLS, 'server.key') } : {}),
      },
      /"msg":"gRPC server listening"/,
    );
    const credentials = tls ? grpc.credentials.createSsl(readFileSync(path.join(TLS, 'ca.pem'))) : grpc.credentials.createInsecure();
    ingestion = new SessionIngestionClient(
      `127.0.0.1:${server.port}`,
      credentials,
      tls ? { 'grpc.ssl_target_name_override': 'localhost' } : {},
    );
  }, SLOW);
  afterAll(async () => {
    ingestion?.close();
    await server?.stop('SIGTERM');
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('admin-key create bootstraps a key locally; admin-key commands refuse --server', async () => {
    const created = json(await runCli(['admin-key', 'create', '--name', 'ops', '--expires-in', '90d', '--json'], localEnv));
    adminKey = created.adminKey;
    expect(adminKey).toMatch(/^cs_admin_[0-9A-Za-z]{43}$/);
    expect(created.key).toMatchObject({ name: 'ops', workspaceId: null, status: 'active' });
    const listed = json(await runCli(['admin-key', 'list', '--json'], localEnv));
    expect(listed.adminKeys.map((k: { name: string }) => k.name)).toEqual(['ops']);
    expect(JSON.stringify(listed)).not.toContain(adminKey);
    const refused = await remote('admin-key', 'list');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/admin keys are managed with local database access or over the admin socket/);
  }, SLOW);

  test('the remote CLI creates a workspace and a collector whose key then ingests', async () => {
    const ws = json(await remote('workspace', 'create', '--name', 'Fleet', '--json'));
    expect(ws.workspace).toMatchObject({ name: 'Fleet', slug: 'fleet' });
    const issued = json(await remote('collector', 'create', '--workspace', 'fleet', '--name', 'laptop-1', '--json'));
    expect(issued.apiKey).toMatch(/^cs_live_/);
    expect((await exportStatus(ingestion, bearer(issued.apiKey))).code).toBe(grpc.status.OK);

    const human = await remote('workspace', 'list');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^ID\s+SLUG\s+NAME\s+COLLECTORS\s+CREATED/);
    expect(human.stdout).toMatch(/fleet\s+Fleet\s+1/);
  }, SLOW);

  test('list, rotate and revoke work remotely and take effect on the serving replica at once', async () => {
    const { collectors } = json(await remote('collector', 'list', '--workspace', 'fleet', '--json'));
    expect(collectors.map((c: { name: string }) => c.name)).toEqual(['laptop-1']);
    const id = collectors[0].id as string;

    const fresh = json(await remote('collector', 'create', '--workspace', 'fleet', '--name', 'laptop-2', '--json'));
    expect((await exportStatus(ingestion, bearer(fresh.apiKey))).code).toBe(grpc.status.OK); // cached by the server now
    const rotated = json(await remote('collector', 'rotate-key', fresh.collectorId, '--json'));
    expect((await exportStatus(ingestion, bearer(fresh.apiKey))).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await exportStatus(ingestion, bearer(rotated.apiKey))).code).toBe(grpc.status.OK);

    const revoked = await remote('collector', 'revoke', fresh.collectorId);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/Revoked collector "laptop-2"/);
    expect((await exportStatus(ingestion, bearer(rotated.apiKey))).code).toBe(grpc.status.UNAUTHENTICATED);

    const updated = json(await remote('collector', 'update', id, '--name', 'laptop-one', '--json'));
    expect(updated.collector.name).toBe('laptop-one');
  }, SLOW);

  test('a workspace-scoped admin key works in its workspace and is refused elsewhere', async () => {
    json(await remote('workspace', 'create', '--name', 'Elsewhere', '--json'));
    const scoped = json(await runCli(['admin-key', 'create', '--name', 'fleet-ops', '--workspace', 'fleet', '--json'], localEnv));
    const flags = ['--server', `127.0.0.1:${server.port}`, '--admin-key', scoped.adminKey];
    if (tls) flags.push('--ca', path.join(TLS, 'ca.pem'), '--server-name', 'localhost');
    const seen = json(await runCli([...flags, 'workspace', 'list', '--json'], {}));
    expect(seen.workspaces.map((w: { slug: string }) => w.slug)).toEqual(['fleet']);
    const denied = await runCli([...flags, 'collector', 'create', '--workspace', 'elsewhere', '--name', 'x'], {});
    expect(denied.code).toBe(1);
    expect(denied.stdout).toBe('');
    expect(denied.stderr).toMatch(/limited to another workspace/);
    const mine = json(await runCli([...flags, 'collector', 'create', '--workspace', 'fleet', '--name', 'scoped-made', '--json'], {}));
    expect(mine.collector.workspaceSlug).toBe('fleet');
  }, SLOW);

  test('no key is an error; CATSYPHON_ADMIN_KEY works; a refused operation reads like a local one', async () => {
    const noKey = await runCli(['--server', `127.0.0.1:${server.port}`, 'workspace', 'list'], {});
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/an admin key is required with --server: --admin-key or CATSYPHON_ADMIN_KEY/);
    const viaEnv = await runCli(
      ['--server', `127.0.0.1:${server.port}`, ...(tls ? ['--tls', '--ca', path.join(TLS, 'ca.pem'), '--server-name', 'localhost'] : []), 'workspace', 'list', '--json'],
      { CATSYPHON_ADMIN_KEY: adminKey },
    );
    expect(json(viaEnv).workspaces.map((w: { slug: string }) => w.slug).sort()).toEqual(['elsewhere', 'fleet']);
    const missing = await remote('collector', 'revoke', '00000000-0000-0000-0000-000000000000');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no collector with id/);
    expect(missing.stderr).not.toMatch(/^\s+at /m);
    expect(server.output()).toContain('"adminKey":"ops"');
    expect(server.output()).not.toContain(adminKey);
  }, SLOW);
});
