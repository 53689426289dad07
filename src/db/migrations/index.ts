import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001-initial-schema';
import * as m0003 from './0003-plan-order';
import * as m0004 from './0004-data-lifecycle';
import * as m0005 from './0005-admin-keys';
import * as m0006 from './0006-replica-heartbeats';

/**
 * Migrations are listed in code (not read from a folder), so the same list
 * runs from ts-jest, from dist/ and from the CLI. Names sort in apply order.
 */
const MIGRATIONS: Record<string, Migration> = {
  '0001-initial-schema': m0001,
  '0003-plan-order': m0003,
  '0004-data-lifecycle': m0004,
  '0005-admin-keys': m0005,
  '0006-replica-heartbeats': m0006,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};
