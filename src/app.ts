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
import { buildInfo } from './metrics/build-info';
import { type IngestMetrics, noopIngestMetrics } from './metrics/ingest-metrics';
import { createMetricsServer, type MetricsServer } from './metrics/metrics-server';
import { PrometheusMetrics } from './metrics/prometheus-metrics';

export interface App {
  readonly server: IngestServer;
  readonly database: Database;
  /** What ingestion/auth code reports to; a no-op when METRICS_ENABLED=false. */
  readonly metrics: IngestMetrics;
  /** The /metrics listener, when metrics are enabled. */
  readonly metricsServer: MetricsServer | undefined;
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
    const prometheus = config.metrics.enabled ? new PrometheusMetrics(buildInfo(database.kind)) : undefined;
    const metrics: IngestMetrics = prometheus ?? noopIngestMetrics;
    const idempotency = createIdempotencyService(config, database, { logger });
    const server = createServer(config, {
      database,
      logger,
      authenticator: overrides.authenticator ?? noKeysYet,
      observer: prometheus,
      services: (rpc) => [
        ingestionService(config, { database, activity: ignoreCollectorActivity, idempotency }, rpc),
        sessionQueryService({ database }, rpc),
      ],
    });
    prometheus?.bindSources({
      inFlight: () => server.inFlight.size,
      poolStats: () => database.poolStats(),
      certificateNotAfter: () => server.certificates?.served().notAfter,
    });
    const metricsServer = prometheus ? createMetricsServer(config.metrics, prometheus.registry, logger) : undefined;
    await server.start();
    try {
      await metricsServer?.start();
    } catch (err) {
      await server.stop();
      throw err;
    }
    const stopPurging = idempotency.startPurging(config.ingest.idempotencyPurgeIntervalMs);
    return {
      server,
      database,
      metrics,
      metricsServer,
      stop: async () => {
        stopPurging();
        // Scrapes keep working while calls drain; the listener goes last.
        await server.stop();
        await metricsServer?.stop();
        await database.destroy();
      },
    };
  } catch (err) {
    await database.destroy();
    throw err;
  }
}
