import { startAdminServer, type AdminServer } from './admin/admin.server';
import { adminSocketPath, isOnDiskPglite } from './admin/admin-socket';
import { ApiKeyAuthenticator } from './auth/api-key.authenticator';
import {
  type CollectorActivityRecorder,
  createCollectorActivityRecorder,
} from './auth/collector-activity.recorder';
import { bcryptKeyHasher, type KeyHasher } from './auth/key-hasher';
import { logFirstCollectorHint } from './collectors/first-collector.hint';
import { CollectorService } from './collectors/collector.service';
import type { Config } from './config/config';
import { type Database, openDatabase } from './db/database';
import { migrateToLatest } from './db/migrate';
import type { Authenticator } from './grpc/rpc';
import { createServer, type IngestServer } from './grpc/server';
import { createIdempotencyService, ingestionService } from './ingest/ingestion.service';
import { sessionQueryService } from './query/session-query.service';
import type { Logger } from './logging/logger';
import { type Clock, systemClock } from './util/clock';

export interface App {
  readonly server: IngestServer;
  readonly database: Database;
  /** Workspace and collector administration, wired to clear this server's auth cache. */
  readonly collectors: CollectorService;
  /**
   * Debounced last_seen_at/hostname/version writer: the ingestion handlers
   * call `collectorActivity.record(ctx.caller, reconciledInfo)`.
   */
  readonly collectorActivity: CollectorActivityRecorder;
  /** The admin socket the CLI uses, when this server holds an on-disk embedded database. */
  readonly adminSocket: string | undefined;
  /** Stops the server gracefully, then closes the database. */
  stop(): Promise<void>;
}

/**
 * Opens the database, migrates it, and starts the gRPC server: what
 * `catsyphon-ingest serve` runs. Tests call it too, with their own config.
 */
export interface AppOverrides {
  /** Replaces API-key authentication (tests that are not about auth). */
  readonly authenticator?: Authenticator;
  /** Replaces bcrypt (tests count compares). */
  readonly keyHasher?: KeyHasher;
  /** Replaces the wall clock (tests expire keys). */
  readonly clock?: Clock;
}

export async function startApp(config: Config, logger: Logger, overrides: AppOverrides = {}): Promise<App> {
  const database = await openDatabase(config.database, logger.child({ component: 'database' }));
  let admin: AdminServer | undefined;
  try {
    if (config.database.migrateOnStart) await migrateToLatest(database.db, logger.child({ component: 'migrator' }));
    const clock = overrides.clock ?? systemClock;
    const hasher = overrides.keyHasher ?? bcryptKeyHasher(config.auth.bcryptCost);
    const apiKeys = new ApiKeyAuthenticator({ db: database.db, hasher, clock, logger, ...config.auth });
    const collectors = new CollectorService({
      db: database.db,
      hasher,
      clock,
      onCollectorChanged: (id) => apiKeys.forgetCollector(id),
    });
    const collectorActivity = createCollectorActivityRecorder({ db: database.db, logger, clock });
    const idempotency = createIdempotencyService(config, database, { logger });
    const server = createServer(config, {
      database,
      logger,
      authenticator: overrides.authenticator ?? apiKeys,
      services: (rpc) => [
        ingestionService(config, { database, activity: collectorActivity, idempotency }, rpc),
        sessionQueryService({ database }, rpc),
      ],
    });
    await server.start();
    const stopPurging = idempotency.startPurging(config.ingest.idempotencyPurgeIntervalMs);
    if (isOnDiskPglite(config.database)) {
      admin = await startAdminServer(adminSocketPath(config.database.dataDir), collectors, logger).catch((err) => {
        logger.error({ err }, 'could not open the admin socket; the CLI cannot reach this server');
        return undefined;
      });
    }
    await logFirstCollectorHint(database.db, config, logger);
    return {
      server,
      database,
      collectors,
      collectorActivity,
      adminSocket: admin?.socketPath,
      stop: async () => {
        stopPurging();
        await admin?.stop();
        await server.stop();
        await collectorActivity.close();
        await database.destroy();
      },
    };
  } catch (err) {
    await admin?.stop();
    await database.destroy();
    throw err;
  }
}
