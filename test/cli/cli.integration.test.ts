import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { SessionIngestionClient } from '../../generated/catsyphon/telemetry/v1/sessions';
import { adminSocketPath } from '../../src/admin/admin-socket';
import { LOCK_FILE } from '../../src/db/data-dir-lock';
import { bearer, exportStatus } from '../helpers/auth-fixtures';
import { ensureBuilt, runCli, type CliResult, type ServerProcess, startServer } from '../helpers/cli-process';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

/**
 * The `catsyphon-ingest` CLI as a user runs it: compiled, in its own
 * process, next to a server running in another process on the same
 * embedded database (the first thing a new user does), and without one.
 */
const AUTHENTICATED = grpc.status.OK; // an authenticated empty batch succeeds
const SLOW = 240_000;

const json = <T = Record<string, any>>(r: CliResult): T => {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]) as T;
};

const human = (r: CliResult): string => {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(() => JSON.parse(r.stdout)).toThrow();
  return r.stdout;
};

const failure = (r: CliResult, message: RegExp) => {
  expect(r.code).not.toBe(0);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/^\s+at /m); // no stack traces
};

describe('catsyphon-ingest CLI with the embedded database', () => {
  let dir: string;
  let env: Record<string, string>;
  let server: ServerProcess | undefined;
  let client: SessionIngestionClient | undefined;
  const keys: string[] = [];
  const stderrs: string[] = [];
  const cli = async (...args: string[]) => {
    const r = await runCli(args, env);
    stderrs.push(r.stderr);
    return r;
  };

  beforeAll(() => {
    ensureBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'cs-cli-'));
    env = {
      DATA_DIR: path.join(dir, 'data'),
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: '0',
      BCRYPT_COST: '4',
      LOG_LEVEL: 'debug',
      SHUTDOWN_GRACE_MS: '5s',
    };
  }, SLOW);
  afterAll(async () => {
    client?.close();
    await server?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('without a server, the CLI opens the embedded database itself', async () => {
    expect(human(await cli('workspace', 'list'))).toMatch(/No workspaces yet/);
    const created = json(await cli('workspace', 'create', '--name', 'Team One', '--json'));
    expect(created.workspace).toMatchObject({ name: 'Team One', slug: 'team-one', collectorCount: 0 });
    expect(existsSync(path.join(env.DATA_DIR, LOCK_FILE))).toBe(false);
  }, SLOW);

  test('the server starts on the same directory and logs the exact command that creates a collector', async () => {
    server = await startServer(env, /admin socket listening/);
    client = new SessionIngestionClient(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    const hint = await server.waitFor(/no collector exists yet/);
    const command = (JSON.parse(hint) as { command: string }).command;
    expect(command).toBe(`DATA_DIR=${env.DATA_DIR} npx catsyphon-ingest collector create --workspace team-one --name my-collector`);
    expect(existsSync(adminSocketPath(env.DATA_DIR))).toBe(true);
  }, SLOW);

  test('while the server runs, workspace commands work in human and JSON output', async () => {
    const created = human(await cli('workspace', 'create', '--name', 'Second Team', '--slug', 'second'));
    expect(created).toMatch(/Created workspace "Second Team"/);
    expect(created).toMatch(/slug:\s+second/);
    expect(created).toMatch(/workspace id:\s+[0-9a-f-]{36}/);
    const table = human(await cli('workspace', 'list'));
    expect(table.split('\n')[0]).toMatch(/^ID\s+SLUG\s+NAME\s+COLLECTORS\s+CREATED$/);
    expect(table).toMatch(/team-one\s+Team One\s+0/);
    expect(table).toMatch(/second\s+Second Team\s+0/);
    const listed = json(await cli('workspace', 'list', '--json'));
    expect(listed.workspaces.map((w: { slug: string }) => w.slug)).toEqual(['team-one', 'second']);
  }, SLOW);

  let laptop: { collectorId: string; workspaceId: string; apiKey: string };
  let desk: { id: string; key: string };

  test('collector create prints the collector id, the workspace id and the key, which the server accepts', async () => {
    laptop = json(await cli('collector', 'create', '--workspace', 'team-one', '--name', 'laptop', '--expires-in', '90d', '--json'));
    keys.push(laptop.apiKey);
    expect(laptop.apiKey).toMatch(/^cs_live_[0-9A-Za-z]{43}$/);
    expect(laptop.collectorId).toMatch(/^[0-9a-f-]{36}$/);
    const listed = json(await cli('workspace', 'list', '--json'));
    expect(laptop.workspaceId).toBe(listed.workspaces[0].id);

    const text = human(await cli('collector', 'create', '--workspace', laptop.workspaceId, '--name', 'desk', '--type', 'custom'));
    const id = /collector id:\s+(\S+)/.exec(text)?.[1];
    const key = /API key:\s+(\S+)/.exec(text)?.[1];
    expect(text).toMatch(/shown only this once/);
    expect(text).toMatch(/type:\s+custom/);
    expect(text).toMatch(/expires:\s+never/);
    desk = { id: id!, key: key! };
    keys.push(desk.key);

    expect((await exportStatus(client!, bearer(laptop.apiKey))).code).toBe(AUTHENTICATED);
    expect((await exportStatus(client!, bearer(desk.key))).code).toBe(AUTHENTICATED);
    expect((await exportStatus(client!)).code).toBe(grpc.status.UNAUTHENTICATED);
  }, SLOW);

  test('collector list shows collectors, filtered by workspace, never their keys', async () => {
    const table = human(await cli('collector', 'list'));
    expect(table.split('\n')[0]).toMatch(/^ID\s+NAME\s+WORKSPACE\s+TYPE\s+STATUS\s+KEY\s+EXPIRES\s+LAST SEEN$/);
    expect(table).toMatch(new RegExp(`${laptop.collectorId}\\s+laptop\\s+team-one\\s+aiobscura\\s+active\\s+cs_live_\\w{12}…`));
    expect(table).toMatch(/desk\s+team-one\s+custom\s+active/);
    const all = json(await cli('collector', 'list', '--workspace', 'team-one', '--json'));
    expect(all.collectors.map((c: { name: string }) => c.name)).toEqual(['laptop', 'desk']);
    expect(all.collectors[0].expiresAt).not.toBeNull();
    expect(json(await cli('collector', 'list', '--workspace', 'second', '--json'))).toEqual({ collectors: [] });
    expect(human(await cli('collector', 'list', '--workspace', 'second'))).toMatch(/No collectors yet/);
    for (const r of [table, JSON.stringify(all)]) for (const key of keys) expect(r).not.toContain(key);
  }, SLOW);

  test('collector update renames and changes the expiry', async () => {
    const updated = json(await cli('collector', 'update', laptop.collectorId, '--name', 'laptop-2', '--expires-in', '12h', '--json'));
    expect(updated.collector).toMatchObject({ id: laptop.collectorId, name: 'laptop-2', status: 'active' });
    const expiresIn = Date.parse(updated.collector.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(11 * 3_600_000);
    expect(expiresIn).toBeLessThanOrEqual(12 * 3_600_000);
    const text = human(await cli('collector', 'update', laptop.collectorId, '--expires-in', 'never'));
    expect(text).toMatch(/Updated collector "laptop-2"/);
    expect(text).toMatch(/expires:\s+never/);
    expect((await exportStatus(client!, bearer(laptop.apiKey))).code).toBe(AUTHENTICATED);
  }, SLOW);

  test('collector update --rate-limit sets per-collector limits the running server applies at once', async () => {
    const limited = json(
      await cli('collector', 'update', laptop.collectorId, '--rate-limit', 'requests=1,messages=5000', '--json'),
    );
    expect(limited.collector.rateLimits).toEqual({ requestsPerMin: 1, messagesPerMin: 5000 });
    // 1 call a minute, plus the burst, which follows the rate: 2 minutes' worth (2 calls) per 10 minutes.
    for (let i = 0; i < 3; i++) expect((await exportStatus(client!, bearer(laptop.apiKey))).code).toBe(AUTHENTICATED);
    const refused = await exportStatus(client!, bearer(laptop.apiKey));
    expect(refused.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.details).toContain(laptop.collectorId);
    expect(refused.details).toContain('1 requests/min');

    const text = human(await cli('collector', 'update', laptop.collectorId, '--rate-limit', 'requests=default'));
    expect(text).toMatch(/rate limits:\s+default requests\/min, 5000 messages\/min/);
    const restored = json(await cli('collector', 'update', laptop.collectorId, '--rate-limit', 'messages=default', '--json'));
    expect(restored.collector.rateLimits).toEqual({ requestsPerMin: null, messagesPerMin: null });
    expect((await exportStatus(client!, bearer(laptop.apiKey))).code).toBe(AUTHENTICATED);
  }, SLOW);

  test('collector rotate-key: the old key stops working at once on the running server', async () => {
    const rotated = json(await cli('collector', 'rotate-key', laptop.collectorId, '--json'));
    keys.push(rotated.apiKey);
    expect(rotated).toMatchObject({ collectorId: laptop.collectorId, workspaceId: laptop.workspaceId });
    expect(rotated.apiKey).not.toBe(laptop.apiKey);
    expect((await exportStatus(client!, bearer(laptop.apiKey))).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await exportStatus(client!, bearer(rotated.apiKey))).code).toBe(AUTHENTICATED);

    const text = human(await cli('collector', 'rotate-key', desk.id));
    const newDeskKey = /API key:\s+(\S+)/.exec(text)?.[1];
    keys.push(newDeskKey!);
    expect(text).toMatch(/the old key no longer works/);
    expect((await exportStatus(client!, bearer(desk.key))).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await exportStatus(client!, bearer(newDeskKey!))).code).toBe(AUTHENTICATED);
    laptop = { ...laptop, apiKey: rotated.apiKey };
    desk = { ...desk, key: newDeskKey! };
  }, SLOW);

  test('collector revoke is soft and takes effect at once', async () => {
    const revoked = json(await cli('collector', 'revoke', laptop.collectorId, '--json'));
    expect(revoked.collector).toMatchObject({ id: laptop.collectorId, status: 'revoked', isActive: false });
    expect(revoked.collector.revokedAt).not.toBeNull();
    expect((await exportStatus(client!, bearer(laptop.apiKey))).code).toBe(grpc.status.UNAUTHENTICATED);
    expect(human(await cli('collector', 'revoke', desk.id))).toMatch(/Revoked collector "desk"; its key no longer works/);
    expect((await exportStatus(client!, bearer(desk.key))).code).toBe(grpc.status.UNAUTHENTICATED);
    const listed = json(await cli('collector', 'list', '--json'));
    expect(listed.collectors.map((c: { status: string }) => c.status)).toEqual(['revoked', 'revoked']);
  }, SLOW);

  test('bad arguments fail with a clear message on stderr and a non-zero exit', async () => {
    failure(await cli('collector', 'create', '--workspace', 'nope', '--name', 'x', '--json'), /no workspace with id or slug "nope"/);
    failure(await cli('collector', 'create', '--workspace', 'team-one', '--name', 'x', '--expires-in', '5y'), /--expires-in.*'5y' is invalid.*30s, 15m, 12h or 90d/s);
    failure(await cli('collector', 'create', '--workspace', 'team-one', '--name', 'x', '--expires-in', '0d'), /'0d' is invalid/);
    failure(await cli('collector', 'create', '--workspace', 'team-one'), /required option '--name <name>' not specified/);
    failure(await cli('collector', 'create', '--name', 'x'), /required option '--workspace <id\|slug>' not specified/);
    failure(await cli('collector', 'create', '--workspace', 'team-one', '--name', ' '), /name must not be empty/);
    failure(await cli('collector', 'list', '--workspace', 'nope', '--json'), /no workspace with id or slug "nope"/);
    failure(await cli('workspace', 'create', '--json'), /required option '--name <name>' not specified/);
    failure(await cli('workspace', 'create', '--name', 'Dup', '--slug', 'team-one'), /a workspace with slug "team-one" already exists/);
    failure(await cli('workspace', 'create', '--name', 'Bad', '--slug', 'Not A Slug'), /invalid slug/);
    failure(await cli('collector', 'rotate-key'), /missing required argument 'id'/);
    failure(await cli('collector', 'rotate-key', laptop.collectorId), /is revoked/);
    failure(await cli('collector', 'revoke', 'not-a-uuid', '--json'), /no collector with id "not-a-uuid"/);
    failure(await cli('collector', 'update', desk.id), /nothing to update/);
    failure(await cli('collector', 'update', desk.id, '--expires-in', 'soon'), /'soon' is invalid/);
    failure(await cli('collector', 'update', desk.id, '--rate-limit', 'requests=0'), /requests must be a whole number/);
    failure(await cli('collector', 'update', desk.id, '--rate-limit', 'bytes=5'), /"bytes=5" is not requests=N or messages=N/);
    failure(await cli('collector', 'frobnicate'), /unknown command 'frobnicate'/);
  }, SLOW);

  test('a command that needs the directory itself says clearly that the server holds it', async () => {
    const r = await cli('migrate');
    failure(r, new RegExp(`in use by process ${server!.child.pid} \\(catsyphon-ingest serve`));
  }, SLOW);

  test('the server exits 0 on SIGTERM; the CLI then opens the directory itself and sees the same data', async () => {
    expect(await server!.stop('SIGTERM')).toBe(0);
    const serverOutput = server!.output();
    server = undefined;
    expect(existsSync(path.join(env.DATA_DIR, LOCK_FILE))).toBe(false);
    expect(existsSync(adminSocketPath(env.DATA_DIR))).toBe(false);
    const listed = json(await cli('collector', 'list', '--json'));
    expect(listed.collectors.map((c: { name: string; status: string }) => `${c.name}:${c.status}`)).toEqual([
      'laptop-2:revoked',
      'desk:revoked',
    ]);
    // Nothing the server or the CLI logged, at debug level, holds a key.
    expect(serverOutput).toContain('"msg":"admin operation"');
    for (const key of keys) {
      expect(serverOutput).not.toContain(key);
      for (const stderr of stderrs) expect(stderr).not.toContain(key);
    }
  }, SLOW);

  test('a server killed hard leaves its lock and socket behind; the CLI takes the directory over', async () => {
    const crashed = await startServer(env, /admin socket listening/);
    expect(await crashed.stop('SIGKILL')).toBeNull();
    expect(existsSync(path.join(env.DATA_DIR, LOCK_FILE))).toBe(true);
    const created = json(await cli('collector', 'create', '--workspace', 'second', '--name', 'after-crash', '--json'));
    expect(created.apiKey).toMatch(/^cs_live_/);
    // And a new server starts on it and accepts that key.
    server = await startServer(env, /admin socket listening/);
    client?.close();
    client = new SessionIngestionClient(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    expect((await exportStatus(client, bearer(created.apiKey))).code).toBe(AUTHENTICATED);
    expect(await server.stop('SIGTERM')).toBe(0);
    server = undefined;
  }, SLOW);
});

// The PostgreSQL run of the suite (TEST_DATABASE_URL set) also checks the CLI
// against PostgreSQL directly, next to a server using the same database.
if (process.env.TEST_DATABASE_URL) {
  describe('catsyphon-ingest CLI with DATABASE_URL', () => {
    let testDb: TestDatabase;
    let server: ServerProcess | undefined;
    let client: SessionIngestionClient | undefined;
    let env: Record<string, string>;

    beforeAll(async () => {
      ensureBuilt();
      testDb = await createTestDatabase();
      env = { ...testDb.env, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', BCRYPT_COST: '4', AUTH_CACHE_TTL_MS: '1s' };
    }, SLOW);
    afterAll(async () => {
      client?.close();
      await server?.stop('SIGKILL');
      await testDb.drop();
    });

    test('the CLI talks to PostgreSQL while the server runs; rotation and revocation reach the server within the cache TTL', async () => {
      server = await startServer(env, /no collector exists yet/);
      expect(server.output()).toContain(
        'DATABASE_URL=<same as the server> npx catsyphon-ingest workspace create --name Default --slug default',
      );
      expect(server.output()).not.toContain('admin socket listening');
      client = new SessionIngestionClient(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
      const cli = (...args: string[]) => runCli(args, env);

      expect(json(await cli('workspace', 'create', '--name', 'PG', '--json')).workspace.slug).toBe('pg');
      const created = json(await cli('collector', 'create', '--workspace', 'pg', '--name', 'pg-box', '--json'));
      expect((await exportStatus(client, bearer(created.apiKey))).code).toBe(AUTHENTICATED);

      const rotated = json(await cli('collector', 'rotate-key', created.collectorId, '--json'));
      await eventually(async () => (await exportStatus(client!, bearer(created.apiKey))).code === grpc.status.UNAUTHENTICATED);
      expect((await exportStatus(client, bearer(rotated.apiKey))).code).toBe(AUTHENTICATED);

      expect(json(await cli('collector', 'revoke', created.collectorId, '--json')).collector.status).toBe('revoked');
      await eventually(async () => (await exportStatus(client!, bearer(rotated.apiKey))).code === grpc.status.UNAUTHENTICATED);
      expect(human(await cli('collector', 'list'))).toMatch(/pg-box\s+pg\s+aiobscura\s+revoked/);
      expect(await server.stop('SIGTERM')).toBe(0);
      for (const key of [created.apiKey, rotated.apiKey]) expect(server.output()).not.toContain(key);
      server = undefined;
    }, SLOW);
  });
}

async function eventually(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
