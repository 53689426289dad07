import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { Client } from 'pg';
import {
  ExportSessionsRequest,
  ExportSessionsResponse,
  SessionIngestionClient,
  SessionStatus,
} from '../../generated/catsyphon/telemetry/v1/sessions';
import { baseEnv } from '../helpers/server-process';
import { type Replica, type ReplicaCluster, startReplicaCluster } from '../helpers/replica-cluster';
import { simpleSession } from '../helpers/session-gen';
import { postgresServer, program, requires } from '../helpers/requirements';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RETRYABLE = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.CANCELLED,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.ABORTED,
  grpc.status.RESOURCE_EXHAUSTED,
]);

/** A raw ExportSessions client on its own TCP connection (no shared subchannel). */
class RawExporter {
  private readonly client: grpc.Client;
  constructor(address: string, private readonly apiKey: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  }

  /** Resolves with the response bytes exactly as received, or rejects with the gRPC error. */
  export(request: ExportSessionsRequest): Promise<Buffer> {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${this.apiKey}`);
    return new Promise((resolve, reject) =>
      this.client.makeUnaryRequest(
        '/catsyphon.telemetry.v1.SessionIngestion/ExportSessions',
        (r: ExportSessionsRequest) => Buffer.from(ExportSessionsRequest.encode(r).finish()),
        (b: Buffer) => b,
        request,
        metadata,
        { deadline: Date.now() + 20_000 },
        (err, res) => (err ? reject(err) : resolve(res as Buffer)),
      ),
    );
  }

  close(): void {
    this.client.close();
  }
}

/**
 * Three server processes on one PostgreSQL database behind haproxy in TCP
 * mode: what a Kubernetes Service of type LoadBalancer gives. Needs real
 * PostgreSQL (PGlite is single-process); it creates its own database from
 * TEST_DATABASE_URL, or postgres://postgres@127.0.0.1:5432/postgres, on both
 * runs of the suite.
 */
const gate = requires([program('haproxy'), postgresServer()]);

gate.describe('three replicas behind an L4 proxy (haproxy, mode tcp)', () => {
  let cluster: ReplicaCluster;
  let apiKey: string;
  let db: Client;

  /** Runs the real CLI against the cluster's database. */
  const cli = async (...args: string[]) => {
    const { stdout } = await run(process.execPath, ['dist/src/cli/main.js', ...args, '--json'], {
      cwd: cluster.buildDir,
      env: { ...baseEnv(), DATABASE_URL: cluster.databaseUrl, LOG_LEVEL: 'silent' },
    });
    return JSON.parse(stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  beforeAll(async () => {
    cluster = await startReplicaCluster({
      replicas: 3,
      env: { GRPC_MAX_CONNECTION_AGE_MS: '1s', GRPC_MAX_CONNECTION_AGE_GRACE_MS: '5s' },
    });
    await cli('workspace', 'create', '--name', 'ops', '--slug', 'ops');
    apiKey = (await cli('collector', 'create', '--workspace', 'ops', '--name', 'multi-replica')).apiKey;
    db = new Client({ connectionString: cluster.databaseUrl });
    await db.connect();
  }, 300_000);
  afterAll(async () => {
    await db?.end();
    await cluster?.stop();
  }, 60_000);

  const perReplica = async (method: string) =>
    Promise.all(cluster.replicas.map(async (r) => (await r.rpcCounts()).get(method) ?? 0));

  /** Which replica served the calls made by `fn` (exactly one must have). */
  const servedBy = async <T>(fn: () => Promise<T>): Promise<{ value: T; replica: Replica }> => {
    const before = await perReplica('ExportSessions');
    const value = await fn();
    const after = await perReplica('ExportSessions');
    const served = cluster.replicas.filter((_, i) => after[i] > before[i]);
    expect(served).toHaveLength(1);
    return { value, replica: served[0] };
  };

  test('(b) with a short max connection age, one long-running client spreads its calls over every replica', async () => {
    const client = new SessionIngestionClient(cluster.proxyAddress, grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${apiKey}`);
    const before = await perReplica('ExportSessions');
    const codes = new Map<string, number>();
    let calls = 0;
    try {
      // One channel, sequential calls: without connection ageing they would
      // all ride the first TCP connection to the first replica.
      for (let i = 0; i < 400; i++) {
        const request = ExportSessionsRequest.fromPartial({ batchId: `spread-${i}`, sessions: [simpleSession(`spread-${i}`, 1, 1)] });
        const code = await new Promise<grpc.status>((resolve) =>
          client.exportSessions(request, metadata, { deadline: Date.now() + 10_000 }, (err) =>
            resolve(err ? err.code : grpc.status.OK),
          ),
        );
        calls++;
        codes.set(grpc.status[code], (codes.get(grpc.status[code]) ?? 0) + 1);
        if (i % 10 === 9) {
          const now = await perReplica('ExportSessions');
          if (now.every((n, r) => n > before[r])) break;
        }
        await sleep(50);
      }
    } finally {
      client.close();
    }
    const after = await perReplica('ExportSessions');
    const served = after.map((n, r) => n - before[r]);
    // Every replica answered some calls, every call was answered once, and
    // the rotation was invisible to the client.
    expect(served.every((n) => n > 0)).toBe(true);
    expect(served.reduce((a, b) => a + b, 0)).toBe(calls);
    expect(Object.fromEntries(codes)).toEqual({ OK: calls });
  }, 180_000);

  test('(a) a batch retried through the proxy that lands on another replica gets the identical cached response', async () => {
    const request = ExportSessionsRequest.fromPartial({
      batchId: 'retry-me',
      sessions: [simpleSession('retry-s1', 2, 3), simpleSession('retry-s2', 1, 4)],
    });
    const firstClient = new RawExporter(cluster.proxyAddress, apiKey);
    const first = await servedBy(() => firstClient.export(request));
    firstClient.close();
    const decoded = ExportSessionsResponse.decode(first.value);
    expect(decoded.results.map((r) => r.status)).toEqual([
      SessionStatus.SESSION_STATUS_CREATED,
      SessionStatus.SESSION_STATUS_CREATED,
    ]);

    // The retry comes on a new connection, which the proxy hands to the
    // next replica in turn; keep retrying until another replica answered.
    let retry: { value: Buffer; replica: Replica } | undefined;
    for (let attempt = 0; attempt < 12 && (!retry || retry.replica === first.replica); attempt++) {
      const client = new RawExporter(cluster.proxyAddress, apiKey);
      try {
        retry = await servedBy(() => client.export(request));
        expect(retry.value.equals(first.value)).toBe(true);
      } finally {
        client.close();
      }
    }
    expect(retry?.replica).not.toBe(first.replica);
    expect(retry?.value.equals(first.value)).toBe(true);
    const stored = await db.query(
      "SELECT count(*)::int AS n FROM sessions WHERE source_session_id IN ('retry-s1', 'retry-s2')",
    );
    expect(stored.rows[0].n).toBe(2);
    const messages = await db.query(
      `SELECT count(*)::int AS n FROM messages m JOIN threads t ON t.id = m.thread_id
       JOIN sessions s ON s.id = t.session_id WHERE s.source_session_id IN ('retry-s1', 'retry-s2')`,
    );
    expect(messages.rows[0].n).toBe(2 * 3 + 4);
  }, 120_000);

  test('(c) SIGTERM to one replica under load: no acknowledged batch is lost, retries finish on the others', async () => {
    const victim = cluster.replicas[0];
    const survivors = cluster.replicas.slice(1);
    const total = 90;
    const workers = 4;
    const acknowledged = new Map<string, ExportSessionsResponse>();
    const retried = new Set<string>();
    let next = 0;
    let sigtermSent = false;
    const survivorsBefore = await Promise.all(survivors.map(async (r) => (await r.rpcCounts()).get('ExportSessions') ?? 0));

    const worker = async () => {
      const client = new RawExporter(cluster.proxyAddress, apiKey);
      try {
        for (let i = next++; i < total; i = next++) {
          const batchId = `load-${i}`;
          const request = ExportSessionsRequest.fromPartial({
            batchId,
            sessions: [simpleSession(`load-${i}-a`, 1, 2), simpleSession(`load-${i}-b`, 1, 1)],
          });
          for (let attempt = 1; ; attempt++) {
            try {
              acknowledged.set(batchId, ExportSessionsResponse.decode(await client.export(request)));
              break;
            } catch (err) {
              const code = (err as grpc.ServiceError).code;
              if (!RETRYABLE.has(code) || attempt >= 30) throw err;
              retried.add(batchId);
              await sleep(100 * Math.min(attempt, 5));
            }
          }
          if (!sigtermSent && acknowledged.size >= total / 4) {
            sigtermSent = true;
            victim.server.signal('SIGTERM');
          }
        }
      } finally {
        client.close();
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));

    expect(sigtermSent).toBe(true);
    expect(await victim.server.exited).toBe(0);
    expect(victim.server.lines.map((l) => l.msg)).toContain('shutdown complete');
    // Every batch was acknowledged in the end, each with both sessions CREATED:
    // a retry of a batch that had committed is answered from its record.
    expect(acknowledged.size).toBe(total);
    for (const [batchId, response] of acknowledged) {
      expect([batchId, response.results.map((r) => r.status)]).toEqual([
        batchId,
        [SessionStatus.SESSION_STATUS_CREATED, SessionStatus.SESSION_STATUS_CREATED],
      ]);
    }
    // ...and everything acknowledged is in the database, exactly once.
    const stored = await db.query("SELECT source_session_id FROM sessions WHERE source_session_id LIKE 'load-%'");
    const ids = stored.rows.map((r) => r.source_session_id as string).sort();
    const expected = [...acknowledged.keys()].flatMap((b) => [`${b}-a`, `${b}-b`]).sort();
    expect(ids).toEqual(expected);
    // The survivors carried on with the load after the SIGTERM.
    const survivorsAfter = await Promise.all(survivors.map(async (r) => (await r.rpcCounts()).get('ExportSessions') ?? 0));
    expect(survivorsAfter.every((n, i) => n > survivorsBefore[i])).toBe(true);
    // Calls cut by the shutdown (if any) were retried and acknowledged.
    for (const batchId of retried) expect(acknowledged.has(batchId)).toBe(true);
  }, 240_000);
});

