import * as grpc from '@grpc/grpc-js';
import { ExportSessionsRequest, SessionIngestionClient } from '../../generated/catsyphon/telemetry/v1/sessions';
import { type ReplicaCluster, startReplicaCluster } from '../helpers/replica-cluster';

/**
 * Three server processes on one PostgreSQL database behind haproxy in TCP
 * mode: what a Kubernetes Service of type LoadBalancer gives. Needs real
 * PostgreSQL (PGlite is single-process); it creates its own database from
 * TEST_DATABASE_URL, or postgres://postgres@127.0.0.1:5432/postgres, on both
 * runs of the suite.
 */
describe('three replicas behind an L4 proxy (haproxy, mode tcp)', () => {
  let cluster: ReplicaCluster;

  beforeAll(async () => {
    cluster = await startReplicaCluster({
      replicas: 3,
      env: { GRPC_MAX_CONNECTION_AGE_MS: '1s', GRPC_MAX_CONNECTION_AGE_GRACE_MS: '5s' },
    });
  }, 300_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  const perReplica = async (method: string) =>
    Promise.all(cluster.replicas.map(async (r) => (await r.rpcCounts()).get(method) ?? 0));

  test('(b) with a short max connection age, one long-running client spreads its calls over every replica', async () => {
    const client = new SessionIngestionClient(cluster.proxyAddress, grpc.credentials.createInsecure());
    const before = await perReplica('ExportSessions');
    const codes = new Map<string, number>();
    let calls = 0;
    try {
      // One channel, sequential calls: without connection ageing they would
      // all ride the first TCP connection to the first replica.
      for (let i = 0; i < 400; i++) {
        const code = await new Promise<grpc.status>((resolve) =>
          client.exportSessions(ExportSessionsRequest.fromPartial({}), new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err) =>
            resolve(err ? err.code : grpc.status.OK),
          ),
        );
        calls++;
        codes.set(grpc.status[code], (codes.get(grpc.status[code]) ?? 0) + 1);
        if (i % 10 === 9) {
          const now = await perReplica('ExportSessions');
          if (now.every((n, r) => n > before[r])) break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      client.close();
    }
    const after = await perReplica('ExportSessions');
    const served = after.map((n, r) => n - before[r]);
    // Every replica answered some calls, and every call was answered once.
    expect(served.every((n) => n > 0)).toBe(true);
    expect(served.reduce((a, b) => a + b, 0)).toBe(calls);
    // Rotation is invisible to the client: no call failed in transport.
    for (const transportFailure of ['UNAVAILABLE', 'CANCELLED', 'DEADLINE_EXCEEDED', 'INTERNAL']) {
      expect([transportFailure, codes.get(transportFailure) ?? 0]).toEqual([transportFailure, 0]);
    }
  }, 180_000);
});
