import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureBuilt, ROOT, runCli, type CliResult, type ServerProcess, startServer } from '../helpers/cli-process';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

/**
 * The data-lifecycle commands as an operator runs them, next to a server:
 * through its admin socket (embedded database), and directly with
 * DATABASE_URL (the PostgreSQL run of the suite).
 */
const SLOW = 240_000;
const CODEX = path.join(ROOT, 'examples', 'json', 'codex-session.json');
const CLAUDE = path.join(ROOT, 'test', 'fixtures', 'claude-code', 'with-plans.jsonl');

const json = <T = Record<string, any>>(r: CliResult): T => {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as T;
};
const human = (r: CliResult): string => {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
};

/** A proto3-JSON file with one valid session and one whose first message has seq 0. */
function writeMixedFile(dir: string): string {
  const valid = JSON.parse(readFileSync(CODEX, 'utf8')) as Record<string, any>;
  const invalid = JSON.parse(JSON.stringify(valid)) as Record<string, any>;
  valid.id = 'mixed-valid';
  invalid.id = 'mixed-invalid';
  invalid.threads[0].messages[0].seq = 0;
  const file = path.join(dir, 'mixed.json');
  writeFileSync(file, JSON.stringify([valid, invalid]));
  return file;
}

function lifecycleFlow(name: string, setup: () => Promise<{ env: Record<string, string>; dir: string; drop(): Promise<void> }>) {
  describe(name, () => {
    let env: Record<string, string>;
    let dir: string;
    let drop: () => Promise<void>;
    let server: ServerProcess | undefined;
    const cli = (...args: string[]) => runCli(args, env);
    /** The audit record is appended just after the call; a CLI on another connection may look a moment early. */
    const eventually = async <T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> => {
      for (let i = 0; ; i++) {
        const v = await read();
        if (ok(v) || i >= 100) return v;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };

    beforeAll(async () => {
      ensureBuilt();
      ({ env, dir, drop } = await setup());
    }, SLOW);
    afterAll(async () => {
      await server?.stop('SIGKILL');
      await drop();
    });

    let laptop: { collectorId: string; apiKey: string };
    let desk: { collectorId: string; apiKey: string };

    test('after a push, batches list --json shows the batch with its counts and the failed session with its error', async () => {
      expect(json(await cli('workspace', 'create', '--name', 'Life', '--slug', 'life', '--json')).workspace.slug).toBe('life');
      server = await startServer(env, /"msg":"gRPC server listening"/);
      laptop = json(await cli('collector', 'create', '--workspace', 'life', '--name', 'laptop', '--json'));
      desk = json(await cli('collector', 'create', '--workspace', 'life', '--name', 'desk', '--json'));
      const push = (key: string, ...files: string[]) =>
        cli('push', '--server', `127.0.0.1:${server!.port}`, '--api-key', key, '--no-state', '--json', ...files);
      const pushed = await push(laptop.apiKey, writeMixedFile(dir));
      expect(pushed.code).not.toBe(0); // one session failed
      expect(json(await push(desk.apiKey, CLAUDE)).ok).toBe(true);

      const listed = await eventually(
        async () => json<{ batches: Record<string, any>[] }>(await cli('batches', 'list', '--workspace', 'life', '--json')).batches,
        (b) => b.length === 2,
      );
      const mine = listed.find((b) => b.collectorId === laptop.collectorId)!;
      expect(mine).toMatchObject({
        workspaceSlug: 'life',
        collectorName: 'laptop',
        method: 'ExportSessions',
        grpcCode: 'OK',
        sessionsIn: 2,
        created: 1,
        failed: 1,
        replayed: false,
      });
      expect(mine.firstError).toMatch(/^mixed-invalid: sessions\[1\]\.threads\[0\]\.messages\[0\]\.seq: /);
      const failed = json(await cli('batches', 'list', '--status', 'failed', '--since', '1h', '--json')).batches;
      expect(failed.map((b: { batchId: string }) => b.batchId)).toEqual([mine.batchId]);
      expect(human(await cli('batches', 'show', mine.batchId))).toMatch(/1 created, 0 updated, 0 duplicate, 1 failed[\s\S]*first error: mixed-invalid/);
      const table = human(await cli('batches', 'list', '--collector', desk.collectorId));
      expect(table.split('\n')[0]).toMatch(/^RECEIVED\s+BATCH ID\s+WORKSPACE\s+COLLECTOR\s+CODE/);
      expect(table).toMatch(/life\s+desk\s+OK\s+1\s+5\s+1\/0\/0\/0/);
    }, SLOW);

    test('sessions list and show print what push sent, with a readable transcript and GetSession JSON', async () => {
      const sessions = json(await cli('sessions', 'list', '--workspace', 'life', '--json')).sessions as Record<string, any>[];
      expect(sessions.map((s) => s.sourceSessionId).sort()).toEqual(['7d8e9f00-1a2b-4c3d-8e4f-5a6b7c8d9e0f', 'mixed-valid']);
      const codex = sessions.find((s) => s.sourceSessionId === 'mixed-valid')!;
      expect(codex).toMatchObject({ assistant: 'ASSISTANT_CODEX', project: 'billing', developer: 'maya <maya@example.com>', collectorName: 'laptop' });
      expect(json(await cli('sessions', 'list', '--assistant', 'claude-code', '--json')).sessions).toHaveLength(1);

      const text = human(await cli('sessions', 'show', codex.id, '--messages'));
      const sent = JSON.parse(readFileSync(CODEX, 'utf8')) as { threads: { messages: { content?: string }[] }[] };
      for (const m of sent.threads.flatMap((t) => t.messages)) if (m.content) expect(text).toContain(m.content.split('\n')[0]);
      expect(text).toMatch(/── thread \S+ \(main, \d+ messages\)/);
      expect(text).toMatch(/#1 human \(prompt\):/);
      const shown = json(await cli('sessions', 'show', codex.id, '--json'));
      expect(shown.catsyphonId).toBe(codex.id);
      expect(shown.session.id).toBe('mixed-valid');
      expect(shown.session.assistant).toBe('ASSISTANT_CODEX');
      expect(shown.session.startedAtNs).toBe('1765443600000000000');
    }, SLOW);

    test('retention update, purges with dry runs, deletion: counts printed, data gone', async () => {
      expect(human(await cli('workspace', 'update', 'life', '--retention', '30d'))).toMatch(/keeps sessions for 30d/);
      expect(json(await cli('workspace', 'update', 'life', '--retention', 'never', '--json')).workspace.retentionMs).toBeNull();
      const dry = json(await cli('collector', 'purge', laptop.collectorId, '--dry-run', '--json')).report;
      expect(dry).toMatchObject({ dryRun: true, counts: { sessions: 1, collectors: 0 } });
      expect(json(await cli('sessions', 'list', '--json')).sessions).toHaveLength(2);
      expect(human(await cli('collector', 'purge', laptop.collectorId))).toMatch(/^Deleted:\n\s+sessions\s+1\n/);
      const left = json(await cli('sessions', 'list', '--json')).sessions as { collectorName: string }[];
      expect(left.map((s) => s.collectorName)).toEqual(['desk']);
      expect(human(await cli('collector', 'list'))).toMatch(/laptop\s+life\s+aiobscura\s+revoked/);

      expect(json(await cli('developer', 'purge', '--workspace', 'life', '--email', 'nobody@example.com', '--json')).report.counts.sessions).toBe(0);
      const ids = left.map((s: any) => s.id as string);
      expect(json(await cli('sessions', 'delete', ...ids, '--dry-run', '--json')).report.counts.sessions).toBe(1);
      expect(json(await cli('sessions', 'delete', ...ids, '--json')).report.counts).toMatchObject({ sessions: 1, plans: 2 });
      expect(human(await cli('sessions', 'list'))).toMatch(/No stored sessions match/);
      const refused = await cli('workspace', 'delete', 'life');
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/pass --purge to confirm/);
      expect(json(await cli('workspace', 'delete', 'life', '--purge', '--json')).report.counts).toMatchObject({ workspaces: 1, collectors: 2 });
      // The audit trail stays.
      expect(json(await cli('batches', 'list', '--json')).batches).toHaveLength(2);
      expect(await server!.stop('SIGTERM')).toBe(0);
      server = undefined;
    }, SLOW);
  });
}

lifecycleFlow('lifecycle commands through a server’s admin socket (embedded database)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cs-life-'));
  return {
    dir,
    env: { DATA_DIR: path.join(dir, 'data'), GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', BCRYPT_COST: '4', LOG_LEVEL: 'info' },
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

if (process.env.TEST_DATABASE_URL) {
  lifecycleFlow('lifecycle commands with DATABASE_URL next to a server', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cs-life-pg-'));
    const testDb: TestDatabase = await createTestDatabase();
    return {
      dir,
      env: { ...testDb.env, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', BCRYPT_COST: '4', LOG_LEVEL: 'info', AUTH_CACHE_TTL_MS: '1s' },
      drop: async () => {
        rmSync(dir, { recursive: true, force: true });
        await testDb.drop();
      },
    };
  });
}
