import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { type App, startApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { SessionIngestionClient } from '../../generated/catsyphon/telemetry/v1/sessions';
import { FakeAuthenticator } from '../helpers/fake-auth';
import { captureLogger } from '../helpers/log-capture';
import { bearer, type CallOutcome, exportOutcome, request } from '../helpers/protect-client';
import { postgresAdminUrl, postgresServer, requires } from '../helpers/requirements';
import { withAdmin } from '../helpers/test-database';

/**
 * RATE_LIMIT_SCOPE=cluster: two replicas (in-process servers on 127.0.0.1:0)
 * on one PostgreSQL database share each collector's limit through the
 * replica_heartbeats table, so a collector sending through both gets the
 * configured limit (plus burst) in total, not twice it.
 */
const gate = requires([postgresServer()]);
const LIMIT = 10;
const DERIVED_BURST = 2 * LIMIT;

interface Replica {
  readonly app: App;
  readonly client: SessionIngestionClient;
}

gate.describe('cluster-wide rate limits on one PostgreSQL database', () => {
  const auth = new FakeAuthenticator();
  const { logger } = captureLogger();
  let adminUrl: string;
  let name: string;
  let replicas: Replica[] = [];

  async function startReplica(databaseUrl: string): Promise<Replica> {
    const config = loadConfig({
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: '0',
      METRICS_ENABLED: 'false',
      OTLP_HTTP_HOST: '127.0.0.1',
      OTLP_HTTP_PORT: '0',
      SHUTDOWN_GRACE_MS: '2s',
      DATABASE_URL: databaseUrl,
      // No RATE_LIMIT_SCOPE: cluster is the default with DATABASE_URL.
      RATE_LIMIT_REQUESTS_PER_MIN: String(LIMIT),
      REPLICA_HEARTBEAT_INTERVAL_MS: '10m', // the test beats by hand: no timing involved
    });
    expect(config.protect.rateLimitScope).toBe('cluster');
    const app = await startApp(config, logger, { authenticator: auth });
    return { app, client: new SessionIngestionClient(`127.0.0.1:${app.server.port}`, grpc.credentials.createInsecure()) };
  }

  /** Every replica records a heartbeat and recounts, as each does on its own every interval. */
  async function beatAll(): Promise<void> {
    for (const r of replicas) await r.app.protection.heartbeat?.beatNow();
  }

  beforeAll(async () => {
    adminUrl = postgresAdminUrl() as string;
    name = `cs_test_cluster_${process.pid}_${randomBytes(4).toString('hex')}`;
    await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    replicas = [await startReplica(url.toString())];
    replicas.push(await startReplica(url.toString()));
    await beatAll();
  });
  afterAll(async () => {
    for (const r of replicas) {
      r.client.close();
      await r.app.stop();
    }
    await withAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  });

  test('each replica counts two live replicas and enforces half the limit and burst', () => {
    for (const r of replicas) expect(r.app.protection.heartbeat?.liveReplicas()).toBe(2);
  });

  test('a collector sending as fast as it can through both replicas gets at most the limit plus burst in total', async () => {
    const { token, caller } = await auth.seedCaller(replicas[0].app.database.db, 'cluster');
    const md = bearer(token);
    const calls = 4 * (LIMIT + DERIVED_BURST);
    const outcomes: CallOutcome[] = await Promise.all(
      Array.from({ length: calls }, (_, i) => exportOutcome(replicas[i % 2].client, request(`c-${i}`, []), md)),
    );
    const admitted = outcomes.filter((o) => o.code === grpc.status.OK).length;
    // Replica scope would admit 2 x (10 + 20) = 60 here.
    expect(admitted).toBeLessThanOrEqual(LIMIT + DERIVED_BURST);
    expect(admitted).toBe(LIMIT + DERIVED_BURST);
    const refused = outcomes.filter((o) => o.code === grpc.status.RESOURCE_EXHAUSTED);
    expect(refused).toHaveLength(calls - admitted);
    const first = refused[0];
    expect(first.details).toContain(caller.collectorName);
    expect(first.details).toContain(caller.collectorId);
    expect(first.details).toContain(`${LIMIT} requests/min (burst ${DERIVED_BURST} per 10 min) cluster-wide`);
    expect(first.details).toContain(`this replica enforces ${LIMIT / 2} requests/min (burst ${DERIVED_BURST / 2} per 10 min)`);
    expect(first.details).toContain('2 live replicas');
    expect(first.statusDetails?.retryDelayMs).toBeGreaterThan(0);
  });

  test('a replica that stops gracefully deletes its heartbeat; the other then enforces the whole limit', async () => {
    const stopped = replicas.pop() as Replica;
    const id = stopped.app.protection.heartbeat?.replicaId as string;
    stopped.client.close();
    await stopped.app.stop();
    const db = replicas[0].app.database.db;
    const rows = await db.selectFrom('replica_heartbeats').select('replica_id').execute();
    expect(rows.map((r) => r.replica_id)).not.toContain(id);
    await beatAll();
    expect(replicas[0].app.protection.heartbeat?.liveReplicas()).toBe(1);
    const { token } = await auth.seedCaller(db, 'alone');
    const outcomes = [];
    for (let i = 0; i < LIMIT + DERIVED_BURST + 1; i++) {
      outcomes.push(await exportOutcome(replicas[0].client, request(`a-${i}`, []), bearer(token)));
    }
    expect(outcomes.slice(0, LIMIT + DERIVED_BURST).every((o) => o.code === grpc.status.OK)).toBe(true);
    expect(outcomes[LIMIT + DERIVED_BURST].code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(outcomes[LIMIT + DERIVED_BURST].details).toContain('1 live replica)');
  });

  test('heartbeats that stopped (a crashed replica) are ignored and deleted by the next beat', async () => {
    const db = replicas[0].app.database.db;
    await db
      .insertInto('replica_heartbeats')
      .values({ replica_id: 'crashed', hostname: 'gone', beat_at: new Date(Date.now() - 24 * 3_600_000).toISOString() })
      .execute();
    await beatAll();
    expect(replicas[0].app.protection.heartbeat?.liveReplicas()).toBe(1);
    const rows = await db.selectFrom('replica_heartbeats').select('replica_id').execute();
    expect(rows.map((r) => r.replica_id)).not.toContain('crashed');
  });
});
