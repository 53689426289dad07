import type { Config } from '../config/config';
import type { Database } from '../db/database';
import type { Logger } from '../logging/logger';
import type { IngestMetrics } from '../metrics/ingest-metrics';
import { Admission } from './admission';
import { CollectorRateLimiter } from './collector-rate-limiter';
import { DatabaseHealth } from './database-health';
import { IngestionGuard } from './ingestion-guard';
import { ReplicaHeartbeat } from './replica-heartbeat';

export interface Protection {
  readonly guard: IngestionGuard;
  readonly admission: Admission;
  readonly rateLimiter: CollectorRateLimiter;
  readonly databaseHealth: DatabaseHealth;
  /** Cluster scope: this replica's heartbeat and the live replica count; undefined in replica scope. */
  readonly heartbeat: ReplicaHeartbeat | undefined;
  /** Starts the periodic database check and, in cluster scope, the heartbeat (after its first beat). */
  start(): Promise<void>;
  /** Stops both; the heartbeat row is deleted. */
  stop(): Promise<void>;
}

export interface ProtectionDeps {
  readonly database: Pick<Database, 'ping' | 'db'>;
  readonly logger: Logger;
  /** Told when the database becomes unreachable or reachable again (server health). */
  readonly onDatabaseAvailability: (available: boolean) => void;
  /** Counts rate-limit and overload refusals; nothing when absent. */
  readonly metrics?: Pick<IngestMetrics, 'rateLimited' | 'overloaded'>;
}

/** Everything of src/protect/ built from the config, for app.ts to wire in. */
export function createProtection(config: Config, deps: ProtectionDeps): Protection {
  const p = config.protect;
  const admission = new Admission(p, deps.metrics);
  const heartbeat =
    p.rateLimitScope === 'cluster'
      ? new ReplicaHeartbeat({ db: deps.database.db, intervalMs: p.heartbeatIntervalMs, logger: deps.logger })
      : undefined;
  const rateLimiter = new CollectorRateLimiter(p.rateLimits, deps.metrics, heartbeat);
  const databaseHealth = new DatabaseHealth({
    ping: () => deps.database.ping(),
    intervalMs: p.dbHealthIntervalMs,
    timeoutMs: config.database.connectTimeoutMs,
    logger: deps.logger,
    onChange: deps.onDatabaseAvailability,
  });
  const guard = new IngestionGuard({ rateLimiter, admission, databaseHealth, retryDelayMs: p.overloadRetryDelayMs });
  return {
    guard,
    admission,
    rateLimiter,
    databaseHealth,
    heartbeat,
    start: async () => {
      databaseHealth.start();
      await heartbeat?.start();
    },
    stop: async () => {
      databaseHealth.stop();
      await heartbeat?.stop();
    },
  };
}
