import { type Kysely, Migrator } from 'kysely';
import type { Logger } from '../logging/logger';
import { migrationProvider } from './migrations';

/**
 * Applies every pending migration. Kysely's Migrator takes a PostgreSQL
 * advisory lock, so replicas starting together against one empty database
 * apply each migration exactly once and all come up.
 */
export async function migrateToLatest(db: Kysely<any>, logger: Logger): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  for (const r of results ?? []) {
    if (r.status === 'Error') logger.error({ migration: r.migrationName }, 'migration failed');
  }
  if (error) throw error instanceof Error ? error : new Error(String(error));
  if (applied.length > 0) logger.info({ applied }, 'database migrated');
  return applied;
}
