import { existsSync, statSync } from 'node:fs';
import { z } from 'zod';
import { parseDuration } from '../util/duration';

/** Thrown when the environment holds an invalid setting; names the variable. */
export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const duration = (minMs: number) =>
  z
    .string()
    .trim()
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: 'must be a duration such as 500ms, 30s, 15m, 12h or 1d' });
        return z.NEVER;
      }
      return ms;
    })
    .pipe(z.number().min(minMs));

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no']))
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** A path that must name an existing regular file when set. */
const existingFile = z
  .string()
  .trim()
  .transform((path, ctx) => {
    if (path === '') return undefined;
    if (!existsSync(path) || !statSync(path).isFile()) {
      ctx.addIssue({ code: 'custom', message: 'file does not exist' });
      return z.NEVER;
    }
    return path;
  })
  .optional();

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

/**
 * Every environment variable the service reads, with its default. Keys are
 * the variable names, so a validation error names the variable directly.
 */
const envSchema = z.object({
  GRPC_HOST: z.string().trim().min(1).default('0.0.0.0'),
  GRPC_PORT: int(0, 65535).default(4317),
  DATABASE_URL: optionalText.pipe(
    z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }).optional(),
  ),
  DATA_DIR: z.string().trim().min(1).default('./data'),
  DB_POOL_SIZE: int(1, 1000).default(10),
  DB_CONNECT_TIMEOUT_MS: duration(1).default(5_000),
  DB_STATEMENT_TIMEOUT_MS: duration(0).default(30_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  MAX_RECEIVE_MESSAGE_BYTES: int(1024).default(64 * 1024 * 1024),
  MAX_SESSIONS_PER_BATCH: int(1).default(1000),
  SHUTDOWN_GRACE_MS: duration(0).default(25_000),
  AUTH_CACHE_TTL_MS: duration(0).default(30_000),
  BCRYPT_COST: int(4, 31).default(10),
  AUTH_FAILURE_LIMIT: int(1).default(20),
  AUTH_FAILURE_WINDOW_MS: duration(1_000).default(60_000),
  // Failed bcrypt compares allowed per window across all collectors: the global bound on bcrypt work.
  AUTH_FAILURE_GLOBAL_LIMIT: int(1).default(200),
  // Unknown key prefixes remembered (no lookup when seen again): bounds the negative cache's memory.
  AUTH_UNKNOWN_PREFIX_CACHE_MAX: int(0).default(100_000),
  IDEMPOTENCY_TTL: duration(1_000).default(24 * 3_600_000),
  IDEMPOTENCY_WAIT_MS: duration(0).default(10_000),
  IDEMPOTENCY_STALE_MS: duration(100).default(30_000),
  IDEMPOTENCY_PURGE_INTERVAL_MS: duration(100).default(60_000),
  MAX_STRING_BYTES: int(16).default(4096),
  MAX_CONTENT_BYTES: int(1024).default(8 * 1024 * 1024),
  MAX_RAW_DATA_BYTES: int(1024).default(8 * 1024 * 1024),
  MAX_METADATA_ENTRIES: int(0).default(256),
  MAX_METADATA_VALUE_BYTES: int(16).default(64 * 1024),
  INGEST_STREAM_CHUNK_SESSIONS: int(1, 10_000).default(100),
  MIGRATE_ON_START: bool.default(true),
  // TLS (src/grpc/tls.ts): cert + key turn TLS on; a client CA turns on mTLS.
  TLS_CERT_FILE: existingFile,
  TLS_KEY_FILE: existingFile,
  TLS_CLIENT_CA_FILE: existingFile,
  TLS_RELOAD_INTERVAL_MS: duration(100).default(30_000),
  // Connection management: rotate connections so an L4 balancer can spread them.
  GRPC_MAX_CONNECTION_AGE_MS: duration(0).default(5 * 60_000),
  GRPC_MAX_CONNECTION_AGE_GRACE_MS: duration(0).default(30_000),
  GRPC_KEEPALIVE_TIME_MS: duration(0).default(60_000),
  GRPC_KEEPALIVE_TIMEOUT_MS: duration(1).default(20_000),
  GRPC_MAX_CONCURRENT_STREAMS: int(1, 2 ** 31 - 1).default(100),
  // Plaintext health-only listener for kubelet gRPC probes, which cannot do TLS.
  HEALTH_PORT: optionalText.pipe(int(0, 65535).optional()),
  // Prometheus metrics (src/metrics/).
  METRICS_ENABLED: bool.default(true),
  METRICS_HOST: z.string().trim().min(1).default('0.0.0.0'),
  METRICS_PORT: int(0, 65535).default(9464),
  // Protection (src/protect/): per-collector rate limits, overload caps, database health.
  RATE_LIMIT_REQUESTS_PER_MIN: int(0).default(6_000),
  // Unset bursts follow the rate: BURST_MINUTES_OF_RATE minutes' worth per burst window.
  RATE_LIMIT_REQUESTS_BURST: optionalText.pipe(int(0).optional()),
  RATE_LIMIT_MESSAGES_PER_MIN: int(0).default(6_000_000),
  RATE_LIMIT_MESSAGES_BURST: optionalText.pipe(int(0).optional()),
  // replica: each replica counts alone; cluster: the limits hold for all replicas together.
  RATE_LIMIT_SCOPE: optionalText.pipe(z.enum(['replica', 'cluster']).optional()),
  REPLICA_HEARTBEAT_INTERVAL_MS: duration(50).default(5_000),
  MAX_CONCURRENT_INGESTIONS: int(1).default(64),
  MAX_BUFFERED_MESSAGES: int(1).default(500_000),
  OVERLOAD_RETRY_DELAY_MS: duration(0).default(1_000),
  DB_HEALTH_INTERVAL_MS: duration(50).default(5_000),
  RPC_TIMEOUT_MS: duration(0).default(120_000),
  // The admin service (catsyphon.admin.v1) on the gRPC port, for admin keys (src/admin/admin.grpc.ts).
  ADMIN_API: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['on', 'off', 'true', 'false', '1', '0', 'yes', 'no'], { error: 'must be on or off' }))
    .transform((v) => v === 'on' || v === 'true' || v === '1' || v === 'yes')
    .default(false),
  // OTLP/HTTP (src/otlp/): POST /v1/logs; OTLP over gRPC shares GRPC_PORT. 0 turns the HTTP listener off.
  OTLP_HTTP_HOST: z.string().trim().min(1).optional(),
  OTLP_HTTP_PORT: int(0, 65535).default(4318),
  // Data lifecycle (src/audit/, src/lifecycle/): audit trail, per-workspace retention.
  AUDIT_RETENTION: duration(1_000).default(90 * 86_400_000),
  RETENTION_DEFAULT: z
    .string()
    .trim()
    .transform((text, ctx) => {
      if (text.toLowerCase() === 'never' || text === '') return null;
      const ms = parseDuration(text);
      if (ms === undefined || ms < 1_000) {
        ctx.addIssue({ code: 'custom', message: 'must be `never` or a duration of at least 1s, such as 30d' });
        return z.NEVER;
      }
      return ms;
    })
    .default(null),
  RETENTION_SWEEP_INTERVAL: duration(100).default(60_000),
  RETENTION_SWEEP_BATCH: int(1, 10_000).default(200),
});

/** Size limits checked by the session validator (bytes are UTF-8 bytes). */
export interface IngestLimits {
  /** Ids, names, paths, URLs and other short strings. */
  readonly maxStringBytes: number;
  /** Message and plan content, tool call input, tool result content. */
  readonly maxContentBytes: number;
  readonly maxRawDataBytes: number;
  /** Entries per metadata map. */
  readonly maxMetadataEntries: number;
  readonly maxMetadataValueBytes: number;
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface Config {
  readonly grpc: {
    readonly host: string;
    readonly port: number;
    readonly maxReceiveMessageBytes: number;
    /** 0 disables the limit; each connection gets +/-10% jitter. */
    readonly maxConnectionAgeMs: number;
    /** How long calls may run after the GOAWAY of an aged connection; 0 = unlimited. */
    readonly maxConnectionAgeGraceMs: number;
    /** 0 disables server keepalive pings. */
    readonly keepaliveTimeMs: number;
    readonly keepaliveTimeoutMs: number;
    readonly maxConcurrentStreams: number;
    /**
     * When set, a second, plaintext listener serving only grpc.health.v1
     * (Kubernetes' native gRPC probes cannot use TLS). 0 picks a free port.
     */
    readonly healthPort: number | undefined;
  };
  /** Undefined means plaintext. */
  readonly tls:
    | {
        readonly certFile: string;
        readonly keyFile: string;
        /** Set: client certificates signed by this CA are required (mTLS). */
        readonly clientCaFile: string | undefined;
        readonly reloadIntervalMs: number;
      }
    | undefined;
  readonly metrics: {
    readonly enabled: boolean;
    readonly host: string;
    /** 0 picks a free port (tests). */
    readonly port: number;
  };
  readonly database: {
    /** PostgreSQL URL; when absent the embedded PGlite under dataDir is used. */
    readonly url: string | undefined;
    readonly dataDir: string;
    readonly poolSize: number;
    readonly connectTimeoutMs: number;
    readonly statementTimeoutMs: number;
    readonly migrateOnStart: boolean;
  };
  readonly logLevel: string;
  /** `auto`: readable lines when stdout is a terminal, JSON everywhere else. */
  readonly logFormat: 'auto' | 'json' | 'pretty';
  readonly shutdownGraceMs: number;
  readonly ingest: {
    readonly maxSessionsPerBatch: number;
    readonly idempotencyTtlMs: number;
    /** How long a call waits for a concurrent call with the same batch_id before ABORTED. */
    readonly idempotencyWaitMs: number;
    /** An in_progress batch whose heartbeat is older than this may be taken over. */
    readonly idempotencyStaleMs: number;
    readonly idempotencyPurgeIntervalMs: number;
    /** RetryInfo delay of ABORTED when another call holds (or took over) the same batch_id. */
    readonly idempotencyRetryDelayMs: number;
    /** Sessions per transaction on ExportSessionsStream. */
    readonly streamChunkSessions: number;
    readonly limits: IngestLimits;
  };
  readonly auth: {
    readonly cacheTtlMs: number;
    readonly bcryptCost: number;
    /** Wrong secrets per collector key prefix per window before that prefix is throttled. */
    readonly failureLimit: number;
    readonly failureWindowMs: number;
    /** Failed bcrypt compares per window across all prefixes: the global bound on bcrypt work. */
    readonly failureGlobalLimit: number;
    /** Entries of the negative cache of unknown key prefixes. */
    readonly unknownPrefixCacheMax: number;
  };
  readonly protect: ProtectConfig;
  /** ADMIN_API: serve catsyphon.admin.v1 on the gRPC port to admin keys (default off). */
  readonly adminApi: { readonly enabled: boolean };
  readonly otlp: {
    /** Defaults to GRPC_HOST. */
    readonly httpHost: string;
    /** The OTLP/HTTP listener's port; undefined: off (OTLP_HTTP_PORT=0). Tests set 0 here for a free port. */
    readonly httpPort: number | undefined;
  };
  readonly lifecycle: LifecycleConfig;
}

/** Audit trail and retention (src/audit/, src/lifecycle/). */
export interface LifecycleConfig {
  /** How long ingest_audit and admin_audit rows are kept. */
  readonly auditRetentionMs: number;
  /** The retention of new workspaces; null keeps their sessions forever. */
  readonly retentionDefaultMs: number | null;
  /** How often the retention sweeper runs. */
  readonly sweepIntervalMs: number;
  /** Sessions deleted per transaction by the sweeper and by deletions on request. */
  readonly sweepBatchSessions: number;
}

/** Rate limits, overload caps and database health checks (src/protect/). */
export interface ProtectConfig {
  /**
   * Default per-collector limits; 0 turns a limit off. Bursts are extra
   * allowance per BURST_WINDOW_MINUTES; unset, they are derived from the rate
   * (BURST_MINUTES_OF_RATE minutes' worth). See README.
   */
  readonly rateLimits: {
    readonly requestsPerMin: number;
    readonly requestsBurst: number;
    readonly messagesPerMin: number;
    readonly messagesBurst: number;
  };
  /**
   * `replica`: each replica enforces the whole limit. `cluster`: the limits
   * hold for all replicas together; each enforces limit / live replicas,
   * counted from the heartbeat table.
   */
  readonly rateLimitScope: 'replica' | 'cluster';
  /** How often a replica records its heartbeat (cluster scope). */
  readonly heartbeatIntervalMs: number;
  readonly maxConcurrentIngestions: number;
  readonly maxBufferedMessages: number;
  /** The RetryInfo delay sent with UNAVAILABLE when a cap is reached. */
  readonly overloadRetryDelayMs: number;
  readonly dbHealthIntervalMs: number;
  /** The longest a unary RPC may run on the server; 0 turns the server-side deadline off. */
  readonly rpcTimeoutMs: number;
}

/** Not a variable (yet): how long a client waits before retrying a batch another call holds. */
const IDEMPOTENCY_RETRY_DELAY_MS = 1_000;

/**
 * A burst not set explicitly is this many minutes' worth of the rate, per
 * burst window (10 minutes): RATE_LIMIT_REQUESTS_PER_MIN=5 admits 5 + 10 calls
 * in a quiet minute and refuses the 16th.
 */
export const BURST_MINUTES_OF_RATE = 2;

function derivedBurst(perMin: number): number {
  return perMin * BURST_MINUTES_OF_RATE;
}

/** Parses and validates the environment once; the result is deeply frozen. */
export function loadConfig(env: Env = process.env): Config {
  const known = Object.fromEntries(
    Object.keys(envSchema.shape)
      .filter((key) => env[key] !== undefined)
      .map((key) => [key, env[key]]),
  );
  const parsed = envSchema.safeParse(known);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue.path[0] ?? 'environment');
    throw new ConfigError(variable, `${issue.message} (got ${JSON.stringify(env[variable])})`);
  }
  const e = parsed.data;
  if ((e.TLS_CERT_FILE === undefined) !== (e.TLS_KEY_FILE === undefined)) {
    const missing = e.TLS_CERT_FILE === undefined ? 'TLS_CERT_FILE' : 'TLS_KEY_FILE';
    throw new ConfigError(missing, 'TLS_CERT_FILE and TLS_KEY_FILE must be set together');
  }
  if (e.TLS_CLIENT_CA_FILE !== undefined && e.TLS_CERT_FILE === undefined) {
    throw new ConfigError('TLS_CLIENT_CA_FILE', 'mTLS needs TLS_CERT_FILE and TLS_KEY_FILE as well');
  }
  if (e.OTLP_HTTP_PORT !== 0 && e.OTLP_HTTP_PORT === e.GRPC_PORT) {
    throw new ConfigError('OTLP_HTTP_PORT', `must differ from GRPC_PORT (both ${e.GRPC_PORT}); OTLP over gRPC already uses GRPC_PORT`);
  }
  if (e.OTLP_HTTP_PORT !== 0 && e.OTLP_HTTP_PORT === e.HEALTH_PORT) {
    throw new ConfigError('OTLP_HTTP_PORT', `must differ from HEALTH_PORT (both ${e.HEALTH_PORT})`);
  }
  if (e.OTLP_HTTP_PORT !== 0 && e.METRICS_ENABLED && e.OTLP_HTTP_PORT === e.METRICS_PORT) {
    throw new ConfigError('OTLP_HTTP_PORT', `must differ from METRICS_PORT (both ${e.METRICS_PORT})`);
  }
  return deepFreeze({
    grpc: {
      host: e.GRPC_HOST,
      port: e.GRPC_PORT,
      maxReceiveMessageBytes: e.MAX_RECEIVE_MESSAGE_BYTES,
      maxConnectionAgeMs: e.GRPC_MAX_CONNECTION_AGE_MS,
      maxConnectionAgeGraceMs: e.GRPC_MAX_CONNECTION_AGE_GRACE_MS,
      keepaliveTimeMs: e.GRPC_KEEPALIVE_TIME_MS,
      keepaliveTimeoutMs: e.GRPC_KEEPALIVE_TIMEOUT_MS,
      maxConcurrentStreams: e.GRPC_MAX_CONCURRENT_STREAMS,
      healthPort: e.HEALTH_PORT,
    },
    tls:
      e.TLS_CERT_FILE !== undefined && e.TLS_KEY_FILE !== undefined
        ? {
            certFile: e.TLS_CERT_FILE,
            keyFile: e.TLS_KEY_FILE,
            clientCaFile: e.TLS_CLIENT_CA_FILE,
            reloadIntervalMs: e.TLS_RELOAD_INTERVAL_MS,
          }
        : undefined,
    metrics: { enabled: e.METRICS_ENABLED, host: e.METRICS_HOST, port: e.METRICS_PORT },
    database: {
      url: e.DATABASE_URL,
      dataDir: e.DATA_DIR,
      poolSize: e.DB_POOL_SIZE,
      connectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
      migrateOnStart: e.MIGRATE_ON_START,
    },
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    ingest: {
      maxSessionsPerBatch: e.MAX_SESSIONS_PER_BATCH,
      idempotencyTtlMs: e.IDEMPOTENCY_TTL,
      idempotencyWaitMs: e.IDEMPOTENCY_WAIT_MS,
      idempotencyStaleMs: e.IDEMPOTENCY_STALE_MS,
      idempotencyPurgeIntervalMs: e.IDEMPOTENCY_PURGE_INTERVAL_MS,
      idempotencyRetryDelayMs: IDEMPOTENCY_RETRY_DELAY_MS,
      streamChunkSessions: e.INGEST_STREAM_CHUNK_SESSIONS,
      limits: {
        maxStringBytes: e.MAX_STRING_BYTES,
        maxContentBytes: e.MAX_CONTENT_BYTES,
        maxRawDataBytes: e.MAX_RAW_DATA_BYTES,
        maxMetadataEntries: e.MAX_METADATA_ENTRIES,
        maxMetadataValueBytes: e.MAX_METADATA_VALUE_BYTES,
      },
    },
    auth: {
      cacheTtlMs: e.AUTH_CACHE_TTL_MS,
      bcryptCost: e.BCRYPT_COST,
      failureLimit: e.AUTH_FAILURE_LIMIT,
      failureWindowMs: e.AUTH_FAILURE_WINDOW_MS,
      failureGlobalLimit: e.AUTH_FAILURE_GLOBAL_LIMIT,
      unknownPrefixCacheMax: e.AUTH_UNKNOWN_PREFIX_CACHE_MAX,
    },
    protect: {
      rateLimits: {
        requestsPerMin: e.RATE_LIMIT_REQUESTS_PER_MIN,
        requestsBurst: e.RATE_LIMIT_REQUESTS_BURST ?? derivedBurst(e.RATE_LIMIT_REQUESTS_PER_MIN),
        messagesPerMin: e.RATE_LIMIT_MESSAGES_PER_MIN,
        messagesBurst: e.RATE_LIMIT_MESSAGES_BURST ?? derivedBurst(e.RATE_LIMIT_MESSAGES_PER_MIN),
      },
      rateLimitScope: e.RATE_LIMIT_SCOPE ?? (e.DATABASE_URL !== undefined ? 'cluster' : 'replica'),
      heartbeatIntervalMs: e.REPLICA_HEARTBEAT_INTERVAL_MS,
      maxConcurrentIngestions: e.MAX_CONCURRENT_INGESTIONS,
      maxBufferedMessages: e.MAX_BUFFERED_MESSAGES,
      overloadRetryDelayMs: e.OVERLOAD_RETRY_DELAY_MS,
      dbHealthIntervalMs: e.DB_HEALTH_INTERVAL_MS,
      rpcTimeoutMs: e.RPC_TIMEOUT_MS,
    },
    adminApi: { enabled: e.ADMIN_API },
    otlp: {
      httpHost: e.OTLP_HTTP_HOST ?? e.GRPC_HOST,
      httpPort: e.OTLP_HTTP_PORT === 0 ? undefined : e.OTLP_HTTP_PORT,
    },
    lifecycle: {
      auditRetentionMs: e.AUDIT_RETENTION,
      retentionDefaultMs: e.RETENTION_DEFAULT,
      sweepIntervalMs: e.RETENTION_SWEEP_INTERVAL,
      sweepBatchSessions: e.RETENTION_SWEEP_BATCH,
    },
  });
}

/** The variables loadConfig understands, for the README and `--help`. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
