import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import { startApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { fromPglite } from '../../src/db/database';
import { migrateToLatest } from '../../src/db/migrate';
import { migrationProvider } from '../../src/db/migrations';
import { captureLogger } from '../helpers/log-capture';
import { createTestDatabase } from '../helpers/test-database';

const EXPECTED_TABLES = [
  'admin_audit',
  'admin_keys',
  'backing_models',
  'collectors',
  'developers',
  'files_touched',
  'ingest_audit',
  'ingest_batches',
  'messages',
  'plans',
  'projects',
  'replica_heartbeats',
  'sessions',
  'threads',
  'workspaces',
];

describe('migrations', () => {
  let allMigrations: string[];
  beforeAll(async () => {
    allMigrations = Object.keys(await migrationProvider.getMigrations()).sort();
  });

  test('two servers started at once against one empty database both come up, and the schema exists once', async () => {
    const testDb = await createTestDatabase();
    const { logger } = captureLogger();
    if (testDb.kind === 'postgres') {
      const config = loadConfig({
        GRPC_HOST: '127.0.0.1',
        GRPC_PORT: '0',
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: '0', OTLP_HTTP_PORT: '0',
        SHUTDOWN_GRACE_MS: '1s',
        ...testDb.env,
      });
      const apps = await Promise.all([startApp(config, logger), startApp(config, logger)]);
      try {
        for (const app of apps) expect(app.server.port).toBeGreaterThan(0);
        const db = apps[0].database.db;
        const tables = await sql<{ table_name: string }>`
          SELECT table_name FROM information_schema.tables
          WHERE table_schema = 'public' AND table_name NOT LIKE 'kysely_%' ORDER BY table_name`.execute(db);
        expect(tables.rows.map((r) => r.table_name)).toEqual(EXPECTED_TABLES);
        const applied = await sql<{ name: string }>`SELECT name FROM kysely_migration`.execute(db);
        expect(applied.rows.map((r) => r.name)).toEqual(allMigrations);
      } finally {
        await Promise.all(apps.map((a) => a.stop()));
        await testDb.drop();
      }
    } else {
      // PGlite is one process with one connection: the same race is two
      // migrators started together on one instance.
      const database = fromPglite(await PGlite.create());
      try {
        const results = await Promise.all([migrateToLatest(database.db, logger), migrateToLatest(database.db, logger)]);
        expect(results.flat()).toEqual(allMigrations);
        const tables = await sql<{ table_name: string }>`
          SELECT table_name FROM information_schema.tables
          WHERE table_schema = 'public' AND table_name NOT LIKE 'kysely_%' ORDER BY table_name`.execute(database.db);
        expect(tables.rows.map((r) => r.table_name)).toEqual(EXPECTED_TABLES);
      } finally {
        await database.destroy();
      }
    }
  });

  test('migrating an up-to-date database applies nothing', async () => {
    const database = fromPglite(await PGlite.create());
    const { logger } = captureLogger();
    try {
      expect(await migrateToLatest(database.db, logger)).toEqual(allMigrations);
      expect(await migrateToLatest(database.db, logger)).toEqual([]);
    } finally {
      await database.destroy();
    }
  });
});
