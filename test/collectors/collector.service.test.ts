import { keyPrefix } from '../../src/auth/api-key';
import { slugify } from '../../src/collectors/collector.service';
import { firstCollectorCommand } from '../../src/collectors/first-collector.hint';
import { loadConfig } from '../../src/config/config';
import { DomainError } from '../../src/errors/domain-error';
import { CountingHasher, FakeClock } from '../helpers/auth-fixtures';
import { startTestApp, type TestApp } from '../helpers/test-app';

/** Starting an app (PGlite, migrations) can take long on a busy machine. */
const STARTUP_TIMEOUT_MS = 180_000;

describe('collector service', () => {
  let t: TestApp;
  const clock = new FakeClock();
  const hasher = new CountingHasher();

  beforeAll(async () => {
    t = await startTestApp({ BCRYPT_COST: '4' }, { clock, keyHasher: hasher });
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t.close();
  });

  const kind = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (err) => (err instanceof DomainError ? `${err.kind}: ${err.message}` : `bug: ${String(err)}`),
    );

  test('slugs are derived from names and validated', async () => {
    expect(slugify('  My Team!  ')).toBe('my-team');
    expect(slugify('Équipe Ünïcode')).toBe('equipe-unicode');
    expect(await kind(t.app.collectors.createWorkspace({ name: '日本' }))).toMatch(/give one with --slug/);
    const ws = await t.app.collectors.createWorkspace({ name: 'Platform Team' });
    expect(ws).toMatchObject({ name: 'Platform Team', slug: 'platform-team', collectorCount: 0 });
    expect(await kind(t.app.collectors.createWorkspace({ name: 'Other', slug: 'platform-team' }))).toMatch(/^already_exists/);
    expect(await kind(t.app.collectors.createWorkspace({ name: 'X', slug: 'Bad Slug' }))).toMatch(/^invalid_argument: invalid slug/);
    expect(await kind(t.app.collectors.createWorkspace({ name: '   ' }))).toMatch(/^invalid_argument: workspace name must not be empty/);
  });

  test('a collector stores only the key prefix and a bcrypt hash, never the key', async () => {
    await t.app.collectors.createWorkspace({ name: 'Keys', slug: 'keys' });
    const issued = await t.app.collectors.createCollector({ workspace: 'keys', name: 'laptop', expiresInMs: 86_400_000 });
    const row = await t.app.database.db
      .selectFrom('collectors')
      .selectAll()
      .where('id', '=', issued.collector.id)
      .executeTakeFirstOrThrow();
    expect(row.key_prefix).toBe(keyPrefix(issued.apiKey));
    expect(row.key_hash).toMatch(/^\$2[aby]\$04\$/);
    expect(JSON.stringify(row)).not.toContain(issued.apiKey);
    expect(row.type).toBe('aiobscura');
    expect(issued.collector.expiresAt).toBe(new Date(clock.now() + 86_400_000).toISOString());
    expect(issued.collector).toMatchObject({ workspaceSlug: 'keys', status: 'active', keyPrefix: `cs_live_${row.key_prefix}…` });
    // By id works as well as by slug.
    const byId = await t.app.collectors.createCollector({ workspace: issued.collector.workspaceId, name: 'second', type: 'custom' });
    expect(byId.collector).toMatchObject({ workspaceId: issued.collector.workspaceId, type: 'custom' });
  });

  test('bad input and unknown ids are domain errors, never internal ones', async () => {
    const c = t.app.collectors;
    expect(await kind(c.createCollector({ workspace: 'nope', name: 'x' }))).toBe('not_found: no workspace with id or slug "nope"');
    expect(await kind(c.createCollector({ workspace: '00000000-0000-4000-8000-000000000000', name: 'x' }))).toMatch(/^not_found/);
    expect(await kind(c.createCollector({ workspace: 'keys', name: '' }))).toMatch(/^invalid_argument: collector name/);
    expect(await kind(c.createCollector({ workspace: 'keys', name: 'x', type: 'has space' }))).toMatch(/^invalid_argument: invalid collector type/);
    expect(await kind(c.createCollector({ workspace: 'keys', name: 'x', expiresInMs: 0 }))).toMatch(/^invalid_argument/);
    expect(await kind(c.listCollectors('nope'))).toMatch(/^not_found/);
    for (const id of ['not-a-uuid', '00000000-0000-4000-8000-000000000000']) {
      expect(await kind(c.rotateKey(id))).toMatch(/^not_found: no collector/);
      expect(await kind(c.revokeCollector(id))).toMatch(/^not_found: no collector/);
      expect(await kind(c.updateCollector(id, { name: 'y' }))).toMatch(/^not_found: no collector/);
    }
  });

  test('update renames and changes or removes the expiry; revoke is soft and idempotent; a revoked key cannot be rotated', async () => {
    const c = t.app.collectors;
    const { collector } = await c.createCollector({ workspace: 'keys', name: 'old-name' });
    expect(await kind(c.updateCollector(collector.id, {}))).toMatch(/^invalid_argument: nothing to update/);
    const renamed = await c.updateCollector(collector.id, { name: 'new-name', expiresInMs: 60_000 });
    expect(renamed).toMatchObject({ name: 'new-name', expiresAt: new Date(clock.now() + 60_000).toISOString() });
    clock.advance(120_000);
    expect((await c.listCollectors('keys')).find((x) => x.id === collector.id)?.status).toBe('expired');
    expect(await c.updateCollector(collector.id, { expiresInMs: null })).toMatchObject({ expiresAt: null, status: 'active' });
    const revoked = await c.revokeCollector(collector.id);
    expect(revoked).toMatchObject({ status: 'revoked', isActive: false });
    const again = await c.revokeCollector(collector.id);
    expect(again.revokedAt).toBe(revoked.revokedAt);
    expect(await kind(c.rotateKey(collector.id))).toMatch(/^failed_precondition: collector .* is revoked/);
    const ws = (await c.listWorkspaces()).find((w) => w.slug === 'keys');
    expect(ws?.collectorCount).toBe(2);
  });

  test('the first-collector hint names the exact commands for the configured database', async () => {
    const onDisk = loadConfig({ DATA_DIR: '/srv/catsyphon data' });
    const emptyDb = await startTestApp({ BCRYPT_COST: '4' });
    try {
      expect(await firstCollectorCommand(emptyDb.app.database.db, onDisk)).toBe(
        "DATA_DIR='/srv/catsyphon data' npx catsyphon-ingest workspace create --name Default --slug default && " +
          "DATA_DIR='/srv/catsyphon data' npx catsyphon-ingest collector create --workspace default --name my-collector",
      );
      await emptyDb.app.collectors.createWorkspace({ name: 'Team', slug: 'team' });
      expect(await firstCollectorCommand(emptyDb.app.database.db, loadConfig({}))).toBe(
        'npx catsyphon-ingest collector create --workspace team --name my-collector',
      );
      expect(
        await firstCollectorCommand(emptyDb.app.database.db, loadConfig({ DATABASE_URL: 'postgres://u:secret@h/db' })),
      ).toBe('DATABASE_URL=<same as the server> npx catsyphon-ingest collector create --workspace team --name my-collector');
      await emptyDb.app.collectors.createCollector({ workspace: 'team', name: 'c' });
      expect(await firstCollectorCommand(emptyDb.app.database.db, loadConfig({}))).toBeUndefined();
    } finally {
      await emptyDb.close();
    }
  }, STARTUP_TIMEOUT_MS);
});
