import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { BatchStatus, type Session } from '../../generated/catsyphon/telemetry/v1/sessions';
import { FakeAuthenticator } from '../helpers/fake-auth';
import { IngestClient } from '../helpers/ingest-client';
import { simpleSession } from '../helpers/session-gen';
import { startTestApp, type TestApp } from '../helpers/test-app';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

describe('ExportSessionsStream under a long stream', () => {
  let t: TestApp;
  let client: IngestClient;
  beforeAll(async () => {
    const auth = new FakeAuthenticator();
    t = await startTestApp({}, { authenticator: auth });
    const seeded = await auth.seedCaller(t.app.database.db);
    client = new IngestClient(t.address, seeded.token);
  });
  afterAll(async () => {
    client.close();
    await t.close();
  });

  test('10,000 sessions stream through with bounded memory', async () => {
    const total = 10_000;
    const perMessage = 50;
    const content = 'y'.repeat(4000);
    let sent = 0;
    const samples: number[] = [];
    gc();
    const baseline = process.memoryUsage().heapUsed;
    function* chunks(): Generator<Session[]> {
      while (sent < total) {
        const chunk: Session[] = [];
        for (let i = 0; i < perMessage && sent < total; i++, sent++) {
          const s = simpleSession(`mem-${sent}`, 1, 3);
          for (const m of s.threads[0].messages) m.content = `${sent}:${m.seq}:${content}`;
          chunk.push(s);
        }
        if (sent % 1000 === 0) {
          gc();
          samples.push(process.memoryUsage().heapUsed - baseline);
        }
        yield chunk;
      }
    }
    const res = await client.stream(chunks());
    expect(res.status).toBe(BatchStatus.BATCH_STATUS_ACCEPTED);
    expect(res.metrics).toMatchObject({ sessionsCreated: total, totalMessages: total * 3 });
    expect(res.results).toHaveLength(total);
    const payloadBytes = total * 3 * content.length;
    expect(payloadBytes).toBeGreaterThan(110 * 1024 * 1024);
    expect(samples.length).toBeGreaterThanOrEqual(9);
    // Live heap (after GC) stays far below what went through (120 MB of
    // content) and stops growing once the pipeline is full: only the result
    // list (10,000 small entries) grows with the stream.
    const mb = samples.map((s) => Math.round(s / 1048576));
    expect(Math.max(...samples)).toBeLessThan(60 * 1024 * 1024);
    const half = Math.floor(samples.length / 2);
    expect({ mb, lateGrowth: samples[samples.length - 1] - samples[half] < 15 * 1024 * 1024 }).toMatchObject({ lateGrowth: true });
    const status = await client.getSessionStatus(`mem-${total - 1}`, 1);
    expect(status.messageCount).toBe(3n);
  }, 300_000);
});
