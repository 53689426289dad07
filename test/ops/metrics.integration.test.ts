import * as grpc from '@grpc/grpc-js';
import packageJson from '../../package.json';
import { ExportSessionsRequest, SessionStatus } from '../../generated/catsyphon/telemetry/v1/sessions';
import { FakeAuthenticator } from '../helpers/fake-auth';
import { startTestApp, type TestApp } from '../helpers/test-app';

const REQUEST = ExportSessionsRequest.fromPartial({ batchId: 'metrics-batch', sessions: [] });

/** Starting an app with PGlite takes seconds, minutes on a loaded CI machine. */
const STARTUP_TIMEOUT_MS = 180_000;

/** Parses the Prometheus text format into `name{labels}` -> value. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

describe('Prometheus metrics on METRICS_PORT', () => {
  const auth = new FakeAuthenticator();
  let t: TestApp;
  let token: string;
  let url: string;

  const scrape = async () => {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return parseExposition(await res.text());
  };

  /** Calls ExportSessions and returns the gRPC code name the client saw. */
  const exportSessions = (authorization: string) =>
    new Promise<string>((resolve) => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', authorization);
      t.ingestion.exportSessions(REQUEST, metadata, (err) =>
        resolve(grpc.status[err ? err.code : grpc.status.OK]),
      );
    });

  beforeAll(async () => {
    t = await startTestApp({}, { authenticator: auth });
    ({ token } = await auth.seedCaller(t.app.database.db));
    url = `http://127.0.0.1:${t.app.metricsServer?.port}/metrics`;
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t.close();
  });

  test('every documented series is present from the first scrape', async () => {
    const m = await scrape();
    const names = new Set([...m.keys()].map((k) => k.replace(/\{.*$/, '')));
    for (const name of [
      'catsyphon_ingest_sessions_total',
      'catsyphon_ingest_messages_ingested_total',
      'catsyphon_ingest_auth_failures_total',
      'catsyphon_ingest_rate_limited_total',
      'catsyphon_ingest_idempotent_replays_total',
      'catsyphon_ingest_overload_rejections_total',
      'catsyphon_ingest_rpcs_in_flight',
      'catsyphon_ingest_build_info',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(names).toContain(name);
    }
    const build = `catsyphon_ingest_build_info{version="${packageJson.version}",node_version="${process.versions.node}",database="${t.testDb.kind}"}`;
    expect(m.get(build)).toBe(1);
    expect(m.get('catsyphon_ingest_sessions_total{status="created"}')).toBe(0);
    expect(m.get('catsyphon_ingest_auth_failures_total{reason="unknown"}')).toBe(0);
    expect(m.get('catsyphon_ingest_rate_limited_total{limit="messages"}')).toBe(0);
    // Pool gauges exist only where there is a pool (PostgreSQL).
    if (t.testDb.kind === 'postgres') {
      expect(m.get('catsyphon_ingest_db_pool_connections{state="total"}')).toBeGreaterThanOrEqual(0);
      expect(m.has('catsyphon_ingest_db_pool_waiting')).toBe(true);
    } else {
      expect(names).not.toContain('catsyphon_ingest_db_pool_connections');
    }
    expect(names).not.toContain('catsyphon_ingest_tls_certificate_expiry_timestamp_seconds');
  });

  test('RPCs are counted by method and status code, with a latency histogram', async () => {
    const good = await exportSessions(`Bearer ${token}`);
    const bad = await exportSessions('Bearer not-a-key');
    expect(bad).toBe('UNAUTHENTICATED');
    const m = await scrape();
    if (good === bad) {
      expect(m.get(`catsyphon_ingest_rpcs_total{method="ExportSessions",code="${bad}"}`)).toBe(2);
    } else {
      expect(m.get(`catsyphon_ingest_rpcs_total{method="ExportSessions",code="${good}"}`)).toBe(1);
      expect(m.get(`catsyphon_ingest_rpcs_total{method="ExportSessions",code="${bad}"}`)).toBe(1);
    }
    expect(m.get('catsyphon_ingest_rpc_duration_seconds_count{method="ExportSessions"}')).toBe(2);
    expect(m.get('catsyphon_ingest_rpc_duration_seconds_bucket{le="+Inf",method="ExportSessions"}')).toBe(2);
    expect(m.get('catsyphon_ingest_rpc_duration_seconds_sum{method="ExportSessions"}')).toBeGreaterThan(0);
    expect(m.get('catsyphon_ingest_rpcs_in_flight')).toBe(0);
    // Request bytes are counted as grpc-js decodes them, authenticated or not.
    const encoded = ExportSessionsRequest.encode(REQUEST).finish().length;
    expect(encoded).toBeGreaterThan(0);
    expect(m.get('catsyphon_ingest_received_bytes_total{method="ExportSessions"}')).toBe(2 * encoded);
  });

  test('what the ingestion and auth code reports through IngestMetrics shows up', async () => {
    const before = await scrape();
    const metrics = t.app.metrics;
    metrics.recordSessionResults([
      SessionStatus.SESSION_STATUS_CREATED,
      SessionStatus.SESSION_STATUS_CREATED,
      SessionStatus.SESSION_STATUS_DUPLICATE,
      SessionStatus.SESSION_STATUS_FAILED,
    ]);
    metrics.addMessagesIngested(42);
    metrics.authFailure('expired');
    metrics.rateLimited('requests');
    metrics.idempotentReplay();
    metrics.overloaded();
    const m = await scrape();
    const delta = (key: string) => (m.get(key) ?? NaN) - (before.get(key) ?? 0);
    expect(delta('catsyphon_ingest_sessions_total{status="created"}')).toBe(2);
    expect(delta('catsyphon_ingest_sessions_total{status="duplicate"}')).toBe(1);
    expect(delta('catsyphon_ingest_sessions_total{status="failed"}')).toBe(1);
    expect(delta('catsyphon_ingest_sessions_total{status="updated"}')).toBe(0);
    expect(delta('catsyphon_ingest_messages_ingested_total')).toBe(42);
    expect(delta('catsyphon_ingest_auth_failures_total{reason="expired"}')).toBe(1);
    expect(delta('catsyphon_ingest_rate_limited_total{limit="requests"}')).toBe(1);
    expect(delta('catsyphon_ingest_idempotent_replays_total')).toBe(1);
    expect(delta('catsyphon_ingest_overload_rejections_total')).toBe(1);
  });

  test('no series carries a collector or workspace label', async () => {
    const text = await (await fetch(url)).text();
    expect(text).not.toMatch(/collector(_id)?=|workspace(_id)?=/);
    expect(text).not.toContain(token);
  });

  test('other paths answer 404', async () => {
    const res = await fetch(url.replace('/metrics', '/'));
    expect(res.status).toBe(404);
    await res.text();
  });
});

describe('METRICS_ENABLED=false', () => {
  test('starts no metrics listener and reports into a no-op', async () => {
    const t = await startTestApp({ METRICS_ENABLED: 'false' });
    try {
      expect(t.app.metricsServer).toBeUndefined();
      expect(() => t.app.metrics.authFailure('missing')).not.toThrow();
      expect(await t.health()).toBe('SERVING');
    } finally {
      await t.close();
    }
  }, STARTUP_TIMEOUT_MS);
});
