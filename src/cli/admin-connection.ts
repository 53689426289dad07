import pino from 'pino';
import type { AdminApi } from '../admin/admin-api';
import { connectAdmin } from '../admin/admin.client';
import { adminSocketPath, isOnDiskPglite } from '../admin/admin-socket';
import { localAdmin } from '../admin/local-admin';
import { bcryptKeyHasher } from '../auth/key-hasher';
import { AdminKeyService } from '../collectors/admin-key.service';
import { CollectorService } from '../collectors/collector.service';
import type { Config } from '../config/config';
import { openDatabase } from '../db/database';
import { DataDirLockedError } from '../db/data-dir-lock';
import { migrateToLatest } from '../db/migrate';
import { LifecycleService } from '../lifecycle/lifecycle.service';
import { RetentionSweeper } from '../lifecycle/retention.sweeper';
import { createRootLogger, type Logger } from '../logging/logger';
import { systemClock } from '../util/clock';

/** CLI diagnostics go to stderr, so stdout carries only the result. */
export function cliLogger(): Logger {
  return createRootLogger('warn', pino.destination({ dest: 2, sync: true }));
}

export interface AdminConnectionOptions {
  /** The command, named in the data directory's lock while the CLI holds it. */
  readonly role: string;
  /** How long to keep trying while another process holds the embedded database. */
  readonly waitMs?: number;
  readonly connectTimeoutMs?: number;
}

/**
 * Where the CLI's admin commands run:
 * - with DATABASE_URL: directly on PostgreSQL;
 * - with the embedded database and a server running on it: on that server,
 *   through its admin socket (PGlite allows one process per directory);
 * - with the embedded database and no server: on the directory, opened
 *   (and locked) by the CLI itself.
 * If another process holds the directory and no server answers, it waits a
 * little (a server may be starting), then fails with a message naming it.
 */
export async function openAdmin(config: Config, logger: Logger, options: AdminConnectionOptions): Promise<AdminApi> {
  if (!isOnDiskPglite(config.database)) return openLocal(config, logger, options.role);
  const socketPath = adminSocketPath(config.database.dataDir);
  const started = Date.now();
  let told = false;
  for (;;) {
    const remote = await connectAdmin(socketPath, options.connectTimeoutMs ?? 2_000);
    if (remote) return remote;
    try {
      return await openLocal(config, logger, options.role);
    } catch (err) {
      if (!(err instanceof DataDirLockedError)) throw err;
      // A server opening (or creating) its database can take a while before
      // its admin socket is up; other CLI commands finish quickly.
      const waitMs = options.waitMs ?? (err.holder.role === 'serve' ? 60_000 : 10_000);
      if (!told) {
        process.stderr.write(`catsyphon-ingest: ${err.message}; waiting for it (up to ${Math.round(waitMs / 1000)} s)...\n`);
        told = true;
      }
      if (Date.now() - started >= waitMs) {
        throw new Error(
          `${err.message}, and no catsyphon-ingest server answers on its admin socket ${socketPath}. ` +
            'If that process is a server that is still starting, try again in a moment; otherwise stop it, ' +
            'or point the CLI at the same database with DATABASE_URL/DATA_DIR as the server.',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

async function openLocal(config: Config, logger: Logger, role: string): Promise<AdminApi> {
  const database = await openDatabase(config.database, logger, role);
  try {
    if (config.database.migrateOnStart) await migrateToLatest(database.db, logger);
  } catch (err) {
    await database.destroy();
    throw err;
  }
  const service = new CollectorService({
    db: database.db,
    hasher: bcryptKeyHasher(config.auth.bcryptCost),
    clock: systemClock,
    defaultRetentionMs: config.lifecycle.retentionDefaultMs,
  });
  const batchSessions = config.lifecycle.sweepBatchSessions;
  const sweeper = new RetentionSweeper({
    db: database.db,
    logger,
    batchSessions,
    auditRetentionMs: config.lifecycle.auditRetentionMs,
  });
  const lifecycle = new LifecycleService({ db: database.db, logger, batchSessions, sweeper });
  const adminKeys = new AdminKeyService({ db: database.db, hasher: bcryptKeyHasher(config.auth.bcryptCost), clock: systemClock });
  return localAdmin(service, adminKeys, lifecycle, () => database.destroy());
}
