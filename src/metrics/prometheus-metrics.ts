import * as grpc from '@grpc/grpc-js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SessionStatus, sessionStatusToJSON } from '../../generated/catsyphon/telemetry/v1/sessions';
import type { RpcObserver } from './rpc-observer';
import {
  AUTH_FAILURE_REASONS,
  type AuthFailureReason,
  type IngestMetrics,
  RATE_LIMIT_KINDS,
  type RateLimitKind,
} from './ingest-metrics';

/** Read at scrape time; bound once the server and database exist. */
export interface MetricsSources {
  inFlight(): number;
  /** Undefined for PGlite, which has no pool. */
  poolStats(): { total: number; idle: number; waiting: number } | undefined;
  /** Expiry of the served TLS certificate; undefined without TLS. */
  certificateNotAfter(): Date | undefined;
}

export interface BuildInfo {
  readonly version: string;
  readonly nodeVersion: string;
  readonly database: string;
}

const PREFIX = 'catsyphon_ingest_';
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const statusLabel = (s: SessionStatus) => sessionStatusToJSON(s).replace(/^SESSION_STATUS_/, '').toLowerCase();

/**
 * The Prometheus side of IngestMetrics and RpcObserver, on a registry of its
 * own (several servers may share a process in tests). Every label has a
 * closed set of values: method, gRPC code, session status, auth-failure
 * reason, rate-limit kind. Collector and workspace ids are never labels.
 */
export class PrometheusMetrics implements IngestMetrics, RpcObserver {
  readonly registry = new Registry();
  private sources: MetricsSources | undefined;
  private readonly rpcs: Counter<'method' | 'code'>;
  private readonly rpcDuration: Histogram<'method'>;
  private readonly sessions: Counter<'status'>;
  private readonly messages: Counter;
  private readonly bytes: Counter<'method'>;
  private readonly authFailures: Counter<'reason'>;
  private readonly rateLimits: Counter<'limit'>;
  private readonly replays: Counter;
  private readonly overloads: Counter;
  private readonly otlpRecords: Counter<'outcome'>;
  private readonly otlpHttp: Counter<'status'>;
  private readonly retentionDeleted: Counter<'kind'>;

  constructor(build: BuildInfo) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.rpcs = new Counter({
      name: `${PREFIX}rpcs_total`,
      help: 'RPCs handled, by method and gRPC status code',
      labelNames: ['method', 'code'],
      registers,
    });
    this.rpcDuration = new Histogram({
      name: `${PREFIX}rpc_duration_seconds`,
      help: 'RPC latency from the first byte to the response, by method',
      labelNames: ['method'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.sessions = new Counter({
      name: `${PREFIX}sessions_total`,
      help: 'Sessions in export responses, by result status',
      labelNames: ['status'],
      registers,
    });
    this.messages = new Counter({
      name: `${PREFIX}messages_ingested_total`,
      help: 'Messages stored',
      registers,
    });
    this.bytes = new Counter({
      name: `${PREFIX}received_bytes_total`,
      help: 'Encoded request message bytes received, by method (after decompression)',
      labelNames: ['method'],
      registers,
    });
    this.authFailures = new Counter({
      name: `${PREFIX}auth_failures_total`,
      help: 'Calls refused by authentication, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.rateLimits = new Counter({
      name: `${PREFIX}rate_limited_total`,
      help: 'Calls refused with RESOURCE_EXHAUSTED by a per-collector limit, by limit',
      labelNames: ['limit'],
      registers,
    });
    this.replays = new Counter({
      name: `${PREFIX}idempotent_replays_total`,
      help: 'Retried batches answered from the idempotency record',
      registers,
    });
    this.overloads = new Counter({
      name: `${PREFIX}overload_rejections_total`,
      help: 'Calls refused with UNAVAILABLE because the in-flight or buffered-messages cap was reached',
      registers,
    });
    this.otlpRecords = new Counter({
      name: `${PREFIX}otlp_log_records_total`,
      help: 'OTLP log records received, by outcome (accepted, or rejected in partial_success)',
      labelNames: ['outcome'],
      registers,
    });
    this.otlpHttp = new Counter({
      name: `${PREFIX}otlp_http_requests_total`,
      help: 'OTLP/HTTP requests, by HTTP status code',
      labelNames: ['status'],
      registers,
    });
    for (const outcome of ['accepted', 'rejected']) this.otlpRecords.inc({ outcome }, 0);
    this.retentionDeleted = new Counter({
      name: `${PREFIX}retention_deleted_total`,
      help: 'Rows the retention sweeper deleted, by kind (sessions, threads, messages, files_touched, plans, projects, developers, backing_models)',
      labelNames: ['kind'],
      registers,
    });
    for (const kind of RETENTION_KINDS) this.retentionDeleted.inc({ kind }, 0);
    this.defineGauges(build);
    // Zero series exist from the start, so rate() and absent() behave.
    for (const s of [
      SessionStatus.SESSION_STATUS_CREATED,
      SessionStatus.SESSION_STATUS_UPDATED,
      SessionStatus.SESSION_STATUS_DUPLICATE,
      SessionStatus.SESSION_STATUS_FAILED,
    ]) {
      this.sessions.inc({ status: statusLabel(s) }, 0);
    }
    for (const reason of AUTH_FAILURE_REASONS) this.authFailures.inc({ reason }, 0);
    for (const limit of RATE_LIMIT_KINDS) this.rateLimits.inc({ limit }, 0);
  }

  /**
   * Connects the scrape-time gauges to the running server and database. The
   * pool and TLS gauges exist only when there is a pool (PostgreSQL) or a
   * certificate (TLS on), so a missing series means "not applicable".
   */
  bindSources(sources: MetricsSources): void {
    if (this.sources) throw new Error('metrics sources are already bound');
    this.sources = sources;
    this.defineSourceGauges(sources);
  }

  onRpcEnd(method: string, code: grpc.status, durationMs: number): void {
    this.rpcs.inc({ method, code: grpc.status[code] ?? String(code) });
    this.rpcDuration.observe({ method }, durationMs / 1000);
  }

  recordSessionResults(statuses: readonly SessionStatus[]): void {
    const counts = new Map<string, number>();
    for (const s of statuses) counts.set(statusLabel(s), (counts.get(statusLabel(s)) ?? 0) + 1);
    for (const [status, n] of counts) this.sessions.inc({ status }, n);
  }

  addMessagesIngested(count: number): void {
    if (count > 0) this.messages.inc(count);
  }

  onRequestBytes(method: string, bytes: number): void {
    this.bytes.inc({ method }, bytes);
  }

  authFailure(reason: AuthFailureReason): void {
    this.authFailures.inc({ reason });
  }

  rateLimited(kind: RateLimitKind): void {
    this.rateLimits.inc({ limit: kind });
  }

  idempotentReplay(): void {
    this.replays.inc();
  }

  overloaded(): void {
    this.overloads.inc();
  }

  otlpLogRecords(accepted: number, rejected: number): void {
    if (accepted > 0) this.otlpRecords.inc({ outcome: 'accepted' }, accepted);
    if (rejected > 0) this.otlpRecords.inc({ outcome: 'rejected' }, rejected);
  }

  otlpHttpRequest(status: number): void {
    this.otlpHttp.inc({ status: String(status) });
  }

  /** What one retention sweep deleted (the lifecycle sweeper's onDeleted). */
  recordRetentionDeleted(counts: Readonly<Record<string, number>>): void {
    for (const kind of RETENTION_KINDS) {
      const n = counts[camel(kind)] ?? 0;
      if (n > 0) this.retentionDeleted.inc({ kind }, n);
    }
  }

  private defineGauges(build: BuildInfo): void {
    new Gauge({
      name: `${PREFIX}build_info`,
      help: 'Always 1; the labels say which build runs',
      labelNames: ['version', 'node_version', 'database'],
      registers: [this.registry],
    }).set({ version: build.version, node_version: build.nodeVersion, database: build.database }, 1);
  }

  private defineSourceGauges(sources: MetricsSources): void {
    const registers = [this.registry];
    new Gauge({
      name: `${PREFIX}rpcs_in_flight`,
      help: 'RPCs being handled right now',
      registers,
      collect() {
        this.set(sources.inFlight());
      },
    });
    if (sources.poolStats()) {
      new Gauge({
        name: `${PREFIX}db_pool_connections`,
        help: 'PostgreSQL pool connections by state (absent on embedded PGlite)',
        labelNames: ['state'],
        registers,
        collect() {
          const stats = sources.poolStats();
          if (!stats) return;
          this.set({ state: 'total' }, stats.total);
          this.set({ state: 'idle' }, stats.idle);
          this.set({ state: 'in_use' }, stats.total - stats.idle);
        },
      });
      new Gauge({
        name: `${PREFIX}db_pool_waiting`,
        help: 'Queries waiting for a PostgreSQL pool connection (absent on embedded PGlite)',
        registers,
        collect() {
          this.set(sources.poolStats()?.waiting ?? 0);
        },
      });
    }
    if (sources.certificateNotAfter()) {
      new Gauge({
        name: `${PREFIX}tls_certificate_expiry_timestamp_seconds`,
        help: 'When the served TLS certificate expires (absent without TLS)',
        registers,
        collect() {
          const notAfter = sources.certificateNotAfter();
          if (notAfter) this.set(notAfter.getTime() / 1000);
        },
      });
    }
  }
}

const RETENTION_KINDS = [
  'sessions',
  'threads',
  'messages',
  'files_touched',
  'plans',
  'projects',
  'developers',
  'backing_models',
] as const;

const camel = (kind: string) => kind.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
