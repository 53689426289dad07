import type { Config } from '../config/config';
import type { Database } from '../db/database';
import type { Logger } from '../logging/logger';
import type { IngestMetrics } from '../metrics/ingest-metrics';
import { Admission } from './admission';
import { CollectorRateLimiter } from './collector-rate-limiter';
import { DatabaseHealth } from './database-health';
import { IngestionGuard } from './ingestion-guard';

export interface Protection {
  readonly guard: IngestionGuard;
  readonly admission: Admission;
  readonly rateLimiter: CollectorRateLimiter;
  readonly databaseHealth: DatabaseHealth;
  /** Starts the periodic database check. */
  start(): void;
  stop(): void;
}

export interface ProtectionDeps {
  readonly database: Pick<Database, 'ping'>;
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
  const rateLimiter = new CollectorRateLimiter(p.rateLimits, deps.metrics);
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
    start: () => databaseHealth.start(),
    stop: () => databaseHealth.stop(),
  };
}
