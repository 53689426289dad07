import type { Config } from './config/config';
import { type Database, openDatabase } from './db/database';
import { migrateToLatest } from './db/migrate';
import { unauthenticated } from './errors';
import type { Authenticator } from './grpc/rpc';
import { createServer, type IngestServer } from './grpc/server';
import { type IngestionHandlers, ingestionService } from './ingest/ingestion.service';
import type { Logger } from './logging/logger';
import { createProtection, type Protection } from './protect/protection';

export interface App {
  readonly server: IngestServer;
  readonly database: Database;
  /** Rate limits, overload caps and the database health check (src/protect/). */
  readonly protection: Protection;
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
  /** Replaces export handlers (tests of the protection layer, which still wraps them). */
  readonly ingestionHandlers?: Partial<IngestionHandlers>;
}

export async function startApp(config: Config, logger: Logger, overrides: AppOverrides = {}): Promise<App> {
  const database = await openDatabase(config.database, logger.child({ component: 'database' }));
  try {
    if (config.database.migrateOnStart) await migrateToLatest(database.db, logger.child({ component: 'migrator' }));
    let server: IngestServer | undefined;
    const protection = createProtection(config, {
      database,
      logger,
      onDatabaseAvailability: (available) => server?.setServing(available),
    });
    server = createServer(config, {
      database,
      logger,
      authenticator: overrides.authenticator ?? noKeysYet,
      interceptors: [protection.interceptor],
      rpcTimeoutMs: config.protect.rpcTimeoutMs,
      services: (rpc) => [
        ingestionService(
          config,
          { database, guard: protection.guard, handlers: overrides.ingestionHandlers },
          rpc,
        ),
      ],
    });
    await server.start();
    protection.start();
    const started = server;
    return {
      server: started,
      database,
      protection,
      stop: async () => {
        protection.stop();
        await started.stop();
        await database.destroy();
      },
    };
  } catch (err) {
    await database.destroy();
    throw err;
  }
}
