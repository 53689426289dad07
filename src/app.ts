import { startAdminServer, type AdminServer } from './admin/admin.server';
import { adminSocketPath, isOnDiskPglite } from './admin/admin-socket';
import { networkAdminGrpc } from './admin/admin.grpc';
import { BatchAuditWriter } from './audit/batch-audit.writer';
import { AdminKeyAuthenticator, refusingAdminKeys } from './auth/admin-key.authenticator';
import { ApiKeyAuthenticator } from './auth/api-key.authenticator';
import { AdminKeyService } from './collectors/admin-key.service';
import {
  type CollectorActivityRecorder,
  createCollectorActivityRecorder,
} from './collectors/collector-activity.recorder';
import { bcryptKeyHasher, type KeyHasher } from './auth/key-hasher';
import { logFirstCollectorHint } from './collectors/first-collector.hint';
import { CollectorService } from './collectors/collector.service';
import type { Config } from './config/config';
import { type Database, openDatabase } from './db/database';
import { migrateToLatest } from './db/migrate';
import type { Authenticator } from './identity/caller';
import { createServer, type IngestServer } from './grpc/server';
import { statusPolicyOf } from './grpc/status';
import { admissionInterceptor } from './grpc/admission.interceptor';
import { type IngestionHandlers, SESSION_INGESTION, sessionIngestionGrpc } from './grpc/services/session-ingestion.grpc';
import { sessionQueryGrpc } from './grpc/services/session-query.grpc';
import { createIdempotencyService } from './ingest/idempotency.service';
import type { Logger } from './logging/logger';
import { buildInfo } from './metrics/build-info';
import { type IngestMetrics, noopIngestMetrics } from './metrics/ingest-metrics';
import { createMetricsServer, type MetricsServer } from './metrics/metrics-server';
import { PrometheusMetrics } from './metrics/prometheus-metrics';
import { createOtlpHttpServer, type OtlpHttpServer } from './otlp/otlp-http.server';
import { LOGS_SERVICE, logsExportHandler, logsService } from './otlp/logs-export.handler';
import { unsupportedSignalServices } from './otlp/unsupported-signals';
import { DimensionCache } from './ingest/dimension.cache';
import { LifecycleService } from './lifecycle/lifecycle.service';
import { RetentionSweeper } from './lifecycle/retention.sweeper';
import { createProtection, type Protection } from './protect/protection';
import { type Clock, systemClock } from './util/clock';

export interface App {
  readonly server: IngestServer;
  readonly database: Database;
  /** What ingestion/auth code reports to; a no-op when METRICS_ENABLED=false. */
  readonly metrics: IngestMetrics;
  /** The /metrics listener, when metrics are enabled. */
  readonly metricsServer: MetricsServer | undefined;
  /** Workspace and collector administration, wired to clear this server's auth cache. */
  readonly collectors: CollectorService;
  /** Admin keys of the network admin service, wired to clear this server's admin auth cache. */
  readonly adminKeys: AdminKeyService;
  /**
   * Debounced last_seen_at/hostname/version writer: the ingestion handlers
   * call `collectorActivity.record(ctx.caller, reconciledInfo)`.
   */
  readonly collectorActivity: CollectorActivityRecorder;
  /** The admin socket the CLI uses, when this server holds an on-disk embedded database. */
  readonly adminSocket: string | undefined;
  /** Rate limits, overload caps and the database health check (src/protect/). */
  readonly protection: Protection;
  /** The OTLP/HTTP listener (POST /v1/logs), unless OTLP_HTTP_PORT=0. */
  readonly otlpHttp: OtlpHttpServer | undefined;
  /** Audit trail, stored sessions, retention and deletion (what the admin socket serves). */
  readonly lifecycle: LifecycleService;
  /** The retention sweeper, running every RETENTION_SWEEP_INTERVAL. */
  readonly sweeper: RetentionSweeper;
  /** Writes the per-call audit records; `flush()` waits for those queued. */
  readonly auditWriter: BatchAuditWriter;
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
  /** Replaces export handlers (tests of the protection layer, which still wraps them). */
  readonly ingestionHandlers?: Partial<IngestionHandlers>;
}

export async function startApp(config: Config, logger: Logger, overrides: AppOverrides = {}): Promise<App> {
  const database = await openDatabase(config.database, logger.child({ component: 'database' }));
  let admin: AdminServer | undefined;
  try {
    if (config.database.migrateOnStart) await migrateToLatest(database.db, logger.child({ component: 'migrator' }));
    const clock = overrides.clock ?? systemClock;
    const statusPolicy = statusPolicyOf(config);
    const hasher = overrides.keyHasher ?? bcryptKeyHasher(config.auth.bcryptCost);
    const prometheus = config.metrics.enabled ? new PrometheusMetrics(buildInfo(database.kind)) : undefined;
    const metrics: IngestMetrics = prometheus ?? noopIngestMetrics;
    const apiKeys = new ApiKeyAuthenticator({ db: database.db, hasher, clock, logger, metrics, ...config.auth });
    const collectors = new CollectorService({
      db: database.db,
      hasher,
      clock,
      onCollectorChanged: (id) => apiKeys.forgetCollector(id),
      defaultRetentionMs: config.lifecycle.retentionDefaultMs,
    });
    const auditWriter = new BatchAuditWriter(database.db, logger.child({ component: 'audit' }));
    const sweeper = new RetentionSweeper({
      db: database.db,
      logger,
      batchSessions: config.lifecycle.sweepBatchSessions,
      auditRetentionMs: config.lifecycle.auditRetentionMs,
      onDeleted: (counts) => prometheus?.recordRetentionDeleted({ ...counts }),
    });
    const lifecycle = new LifecycleService({
      db: database.db,
      logger: logger.child({ component: 'lifecycle' }),
      clock,
      batchSessions: config.lifecycle.sweepBatchSessions,
      sweeper,
      flushAudit: () => auditWriter.flush(),
      onCollectorChanged: (id) => apiKeys.forgetCollector(id),
    });
    const adminAuth = new AdminKeyAuthenticator({ db: database.db, hasher, clock, logger, ...config.auth });
    const adminKeys = new AdminKeyService({
      db: database.db,
      hasher,
      clock,
      onAdminKeyRevoked: (id) => adminAuth.forgetKey(id),
    });
    const collectorActivity = createCollectorActivityRecorder({ db: database.db, logger, clock });
    const idempotency = createIdempotencyService(config, database, { logger });
    let healthTarget: IngestServer | undefined;
    const protection = createProtection(config, {
      database,
      logger,
      metrics,
      onDatabaseAvailability: (available) => healthTarget?.setServing(available),
    });
    // OTLP logs (src/otlp/): one handler for gRPC and HTTP, behind the same guard as ExportSessions.
    const logsExport = logsExportHandler(
      {
        db: database.db,
        transaction: database.transaction,
        limits: config.ingest.limits,
        dimensions: new DimensionCache(),
        activity: collectorActivity,
        metrics,
      },
      protection.guard,
    );
    // An admin key on the ingestion, query and OTLP services is refused with PERMISSION_DENIED.
    const authenticator = refusingAdminKeys(overrides.authenticator ?? apiKeys);
    const server = createServer(config, {
      logger,
      authenticator,
      observer: prometheus,
      interceptors: [
        admissionInterceptor({
          admission: protection.admission,
          pathPrefixes: [`/${SESSION_INGESTION}/`, `/${LOGS_SERVICE}/`],
          statusPolicy,
          logger,
        }),
      ],
      rpcTimeoutMs: config.protect.rpcTimeoutMs,
      services: (rpc) => [
        sessionIngestionGrpc(
          config,
          {
            database,
            activity: collectorActivity,
            idempotency,
            guard: protection.guard,
            metrics,
            audit: auditWriter,
            handlers: overrides.ingestionHandlers,
          },
          rpc,
        ),
        sessionQueryGrpc({ database }, rpc),
        logsService(logsExport, rpc),
        ...unsupportedSignalServices(),
        // ADMIN_API=on: catsyphon.admin.v1.AdminService for admin keys; off: not served (UNIMPLEMENTED).
        ...(config.adminApi.enabled ? [networkAdminGrpc({ collectors, authenticator: adminAuth }, rpc)] : []),
      ],
    });
    const otlpHttp =
      config.otlp.httpPort === undefined
        ? undefined
        : createOtlpHttpServer(
            {
              host: config.otlp.httpHost,
              port: config.otlp.httpPort,
              maxBodyBytes: config.grpc.maxReceiveMessageBytes,
              retryDelayMs: config.protect.overloadRetryDelayMs,
              shutdownGraceMs: config.shutdownGraceMs,
            },
            {
              logger,
              authenticator,
              handler: logsExport,
              metrics,
              admission: protection.admission,
              statusPolicy,
              tls: server.certificates && { certificates: server.certificates, mtls: config.tls?.clientCaFile !== undefined },
            },
          );
    healthTarget = server;
    prometheus?.bindSources({
      inFlight: () => server.inFlight.size,
      poolStats: () => database.poolStats(),
      certificateNotAfter: () => server.certificates?.served().notAfter,
    });
    const metricsServer = prometheus ? createMetricsServer(config.metrics, prometheus.registry, logger) : undefined;
    // In cluster scope the first heartbeat is recorded (and the replicas counted) before serving.
    await protection.start();
    try {
      await server.start();
    } catch (err) {
      await protection.stop();
      throw err;
    }
    try {
      await otlpHttp?.start();
      await metricsServer?.start();
    } catch (err) {
      await Promise.all([server.stop(), otlpHttp?.stop()]);
      await protection.stop();
      throw err;
    }
    const stopPurging = idempotency.startPurging(config.ingest.idempotencyPurgeIntervalMs);
    sweeper.start(config.lifecycle.sweepIntervalMs);
    if (isOnDiskPglite(config.database)) {
      admin = await startAdminServer(
        adminSocketPath(config.database.dataDir),
        { collectors, adminKeys, lifecycle },
        logger,
        statusPolicy,
      ).catch((err) => {
        logger.error({ err }, 'could not open the admin socket; the CLI cannot reach this server');
        return undefined;
      });
    }
    await logFirstCollectorHint(database.db, config, logger);
    return {
      server,
      database,
      metrics,
      metricsServer,
      collectors,
      adminKeys,
      collectorActivity,
      adminSocket: admin?.socketPath,
      protection,
      otlpHttp,
      lifecycle,
      sweeper,
      auditWriter,
      stop: async () => {
        // Also deletes this replica's heartbeat: the others take over its share of cluster-wide limits.
        await protection.stop();
        stopPurging();
        await sweeper.stop();
        await admin?.stop();
        // Scrapes keep working while calls drain; the listener goes last.
        await Promise.all([server.stop(), otlpHttp?.stop()]);
        await metricsServer?.stop();
        await collectorActivity.close();
        await auditWriter.close();
        await database.destroy();
      },
    };
  } catch (err) {
    await admin?.stop();
    await database.destroy();
    throw err;
  }
}
