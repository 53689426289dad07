import type { CollectorInfo } from '../../generated/catsyphon/telemetry/v1/sessions';
import { createCollectorActivityRecorder } from '../../src/collectors/collector-activity.recorder';
import { recordCollectorSeen } from '../../src/collectors/collector.repository';
import type { Caller } from '../../src/identity/caller';
import { FakeClock } from '../helpers/auth-fixtures';
import { startTestApp, type TestApp } from '../helpers/test-app';

/** Starting an app (PGlite, migrations) can take long on a busy machine. */
const STARTUP_TIMEOUT_MS = 180_000;

const info = (hostname: string, version = '1.0.0'): CollectorInfo => ({
  type: 'aiobscura',
  version,
  hostname,
  collectorId: '',
  workspaceId: '',
  metadata: {},
});

async function eventually(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('collector activity recorder', () => {
  let t: TestApp;
  const callers: Caller[] = [];

  beforeAll(async () => {
    t = await startTestApp({ BCRYPT_COST: '4' });
    await t.app.collectors.createWorkspace({ name: 'Activity', slug: 'activity' });
    for (const name of ['a', 'b']) {
      const { collector } = await t.app.collectors.createCollector({ workspace: 'activity', name });
      callers.push({
        collectorId: collector.id,
        collectorName: name,
        workspaceId: collector.workspaceId,
        rateLimits: { requestsPerMin: undefined, messagesPerMin: undefined },
      });
    }
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t.close();
  });

  const row = (id: string) =>
    t.app.database.db
      .selectFrom('collectors')
      .select(['last_seen_at', 'hostname', 'version'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();

  test('writes at once for a new collector, then at most once per interval with the newest values', async () => {
    const clock = new FakeClock();
    const writes: string[] = [];
    const recorder = createCollectorActivityRecorder({
      db: t.app.database.db,
      logger: t.logs.logger,
      clock,
      intervalMs: 300,
      store: (db, id, seen) => {
        writes.push(`${id}:${seen.hostname}`);
        return recordCollectorSeen(db, id, seen);
      },
    });
    const [a, b] = callers;
    for (let i = 0; i < 100; i++) recorder.record(a, info(`host-${i}`, `1.0.${i}`));
    expect(writes).toEqual([`${a.collectorId}:host-0`]);
    recorder.record(b, info('b-host'));
    expect(writes).toHaveLength(2);

    // The trailing write carries the newest values seen during the interval.
    await eventually(() => writes.length === 3, 'the trailing write');
    expect(writes[2]).toBe(`${a.collectorId}:host-99`);
    await recorder.flush();
    expect(await row(a.collectorId)).toMatchObject({ hostname: 'host-99', version: '1.0.99' });
    expect((await row(a.collectorId)).last_seen_at).toEqual(new Date(clock.now()));
    expect(await row(b.collectorId)).toMatchObject({ hostname: 'b-host', version: '1.0.0' });

    // Once the interval has passed, the next call writes at once again.
    clock.advance(1_000);
    recorder.record(a, info('later'));
    expect(writes).toHaveLength(4);
    await recorder.close();
    expect(writes).toHaveLength(4);
  });

  test('empty hostname or version keep the stored values', async () => {
    const [a] = callers;
    const recorder = createCollectorActivityRecorder({ db: t.app.database.db, logger: t.logs.logger, clock: new FakeClock() });
    recorder.record(a, info('kept-host', '9.9.9'));
    await recorder.flush();
    const clock2 = new FakeClock(Date.UTC(2027, 0, 1));
    const second = createCollectorActivityRecorder({ db: t.app.database.db, logger: t.logs.logger, clock: clock2 });
    second.record(a, info('', ''));
    await second.close();
    expect(await row(a.collectorId)).toMatchObject({ hostname: 'kept-host', version: '9.9.9' });
    expect((await row(a.collectorId)).last_seen_at).toEqual(new Date(clock2.now()));
    await recorder.close();
  });

  test('record never blocks or throws, even when the write fails; close flushes what is pending', async () => {
    const clock = new FakeClock();
    let failed = 0;
    const recorder = createCollectorActivityRecorder({
      db: t.app.database.db,
      logger: t.logs.logger,
      clock,
      intervalMs: 60_000,
      store: async () => {
        failed++;
        throw new Error('database down');
      },
    });
    const [a] = callers;
    expect(recorder.record(a, info('x'))).toBeUndefined();
    recorder.record(a, info('y'));
    expect(failed).toBe(1);
    await recorder.close();
    expect(failed).toBe(2);
    recorder.record(a, info('z'));
    expect(failed).toBe(2);
    expect(t.logs.text()).toContain('could not record collector activity');
  });

  test('the app exposes a recorder bound to its database', async () => {
    const [, b] = callers;
    t.app.collectorActivity.record(b, info('via-app', '2.0.0'));
    await t.app.collectorActivity.flush();
    expect(await row(b.collectorId)).toMatchObject({ hostname: 'via-app', version: '2.0.0' });
  });
});
