import type { Config } from './config/config';
import { type Database, openDatabase } from './db/database';
import { migrateToLatest } from './db/migrate';
import { unauthenticated } from './errors';
import type { Authenticator } from './grpc/rpc';
import { createServer, type IngestServer } from './grpc/server';
import { ignoreCollectorActivity } from './auth/collector-info';
import { createIdempotencyService, ingestionService } from './ingest/ingestion.service';
import { sessionQueryService } from './query/session-query.service';
import type { Logger } from './logging/logger';

export interface App {
  readonly server: IngestServer;
  readonly database: Database;
  /** Stops the server gracefully, then closes the database. */
  stop(): Promise<void>;
}

/** Placeholder until API keys exist: every call is refused. */
const noKeysYet: Authenticator = {
  authenticate: async () => {
    throw unauthenticated('no API keys are configured on this server');
  },
};

/**
 * Opens the database, migrates it, and starts the gRPC server: what
 * `catsyphon-ingest serve` runs. Tests call it too, with their own config.
 */
export interface AppOverrides {
  /** Replaces API-key authentication (tests that are not about auth). */
  readonly authenticator?: Authenticator;
}

export async function startApp(config: Config, logger: Logger, overrides: AppOverrides = {}): Promise<App> {
  const database = await openDatabase(config.database, logger.child({ component: 'database' }));
  try {
    if (config.database.migrateOnStart) await migrateToLatest(database.db, logger.child({ component: 'migrator' }));
    const idempotency = createIdempotencyService(config, database, { logger });
    const server = createServer(config, {
      database,
      logger,
      authenticator: overrides.authenticator ?? noKeysYet,
      services: (rpc) => [
        ingestionService(config, { database, activity: ignoreCollectorActivity, idempotency }, rpc),
        sessionQueryService({ database }, rpc),
      ],
    });
    await server.start();
    const stopPurging = idempotency.startPurging(config.ingest.idempotencyPurgeIntervalMs);
    return {
      server,
      database,
      stop: async () => {
        stopPurging();
        await server.stop();
        await database.destroy();
      },
    };
  } catch (err) {
    await database.destroy();
    throw err;
  }
}
