import { IngestClient, planBatches, sessionWireBytes } from '../../src/client';
import { encodeRequest } from '../../src/client/batching';
import { ExportSessionsRequest } from '../../generated/catsyphon/telemetry/v1/sessions';
import { FaultServer } from '../helpers/fault-server';
import { makeSession } from '../helpers/session-factory';
import { Rng, SessionGenerator } from '../helpers/session-gen';

describe('planBatches', () => {
  test('keeps each session\'s encoding; the request built from them equals encoding the whole request', () => {
    const gen = new SessionGenerator(new Rng(11));
    const sessions = Array.from({ length: 5 }, () => gen.session(2));
    const plan = planBatches(sessions, { maxSessions: 1000, maxBytes: 64 << 20 });
    expect(plan.batches).toHaveLength(1);
    const collector = { type: 't', version: '1', hostname: 'h', collectorId: '', workspaceId: '', metadata: { k: 'v' } };
    const built = encodeRequest(collector, 'batch-1', plan.batches[0].encoded);
    const whole = Buffer.from(ExportSessionsRequest.encode({ collector, batchId: 'batch-1', sessions }).finish());
    expect(built.equals(whole)).toBe(true);
    expect(ExportSessionsRequest.decode(built).sessions).toEqual(sessions);
  });

  test('splits by session count, keeping input order', () => {
    const sessions = Array.from({ length: 7 }, (_, i) => makeSession(`c-${i}`));
    const plan = planBatches(sessions, { maxSessions: 3, maxBytes: 1 << 20 });
    expect(plan.batches.map((b) => b.indexes)).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(plan.oversized).toEqual([]);
  });

  test('splits by encoded size, measured exactly as the request is encoded', () => {
    const sessions = Array.from({ length: 6 }, (_, i) => makeSession(`b-${i}`, 4, 1000 + i * 300));
    const sizes = sessions.map(sessionWireBytes);
    const maxBytes = sizes[0] + sizes[1] + sizes[2] + 40;
    const plan = planBatches(sessions, { maxSessions: 1000, maxBytes }, 40);
    expect(plan.batches.length).toBeGreaterThan(1);
    for (const batch of plan.batches) {
      const encoded = ExportSessionsRequest.encode({ batchId: '', sessions: batch.sessions }).finish().length;
      expect(batch.bytes).toBe(encoded + 40);
      expect(batch.bytes).toBeLessThanOrEqual(maxBytes);
    }
    expect(plan.batches.flatMap((b) => b.indexes)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(plan.batches[0].indexes).toEqual([0, 1, 2]);
  });

  test('a session larger than the limit on its own is set aside, the others still batch', () => {
    const sessions = [makeSession('small-1'), makeSession('huge', 3, 50_000), makeSession('small-2')];
    const plan = planBatches(sessions, { maxSessions: 10, maxBytes: 10_000 });
    expect(plan.oversized).toEqual([{ index: 1, bytes: sessionWireBytes(sessions[1]) }]);
    expect(plan.batches.map((b) => b.indexes)).toEqual([[0, 2]]);
  });
});

describe('IngestClient batching over the wire', () => {
  let server: FaultServer;
  beforeAll(async () => {
    server = await new FaultServer().start();
  });
  afterAll(async () => {
    await server.stop();
  });

  test('every request fits maxBytes; oversized sessions are reported failed and never sent', async () => {
    const maxBytes = 64 * 1024;
    const client = new IngestClient({ address: server.address, limits: { maxBytes, maxSessions: 1000 } });
    try {
      const sessions = [
        ...Array.from({ length: 30 }, (_, i) => makeSession(`m-${i}`, 5, 2_000)),
        makeSession('too-big', 2, 70 * 1024),
        makeSession('last', 1, 10),
      ];
      const report = await client.exportSessions(sessions);
      expect(server.calls.length).toBeGreaterThan(1);
      for (const call of server.calls) expect(call.bytes).toBeLessThanOrEqual(maxBytes);
      expect(server.calls.flatMap((c) => c.sessionIds)).not.toContain('too-big');
      expect(server.calls.flatMap((c) => c.sessionIds)).toHaveLength(31);
      expect(report.results).toHaveLength(32);
      expect(report.results.map((r) => r.sessionId)).toEqual(sessions.map((s) => s.id));
      expect(report.results[30]).toMatchObject({ status: 'failed', batchId: undefined, error: { source: 'client', code: 'TOO_LARGE' } });
      expect(report.counts).toEqual({ created: 31, updated: 0, duplicate: 0, failed: 1 });
      expect(report.batches.reduce((n, b) => n + b.sessions, 0)).toBe(31);
      for (const b of report.batches) expect(b.bytes).toBe(server.calls.find((c) => c.batchId === b.batchId)?.bytes);
    } finally {
      client.close();
    }
  });
});
