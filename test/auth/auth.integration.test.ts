import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { generateApiKey } from '../../src/auth/api-key';
import { ApiKeyAuthenticator } from '../../src/auth/api-key.authenticator';
import { CollectorService } from '../../src/collectors/collector.service';
import { decodeStatusDetails } from '../../src/grpc/retry-info';
import { bearer, CountingHasher, exportStatus, FakeClock } from '../helpers/auth-fixtures';
import { ReflectionClient } from '../helpers/reflection-client';
import { startTestApp, type TestApp } from '../helpers/test-app';

/** Starting an app (PGlite, migrations) can take long on a busy machine. */
const STARTUP_TIMEOUT_MS = 180_000;

/**
 * Authentication over a real socket, through ExportSessions: an
 * authenticated call with an empty batch is accepted (OK); an
 * unauthenticated one gets UNAUTHENTICATED before any handler runs.
 */
const AUTHENTICATED = grpc.status.OK;
const FAILURE_LIMIT = 20;
const issuedKeys: string[] = [];

describe('API-key authentication', () => {
  let t: TestApp;
  const hasher = new CountingHasher();
  const clock = new FakeClock();
  let workspaceId: string;

  async function newCollector(expiresInMs?: number) {
    const issued = await t.app.collectors.createCollector({ workspace: 'auth', name: `c-${randomBytes(3).toString('hex')}`, expiresInMs });
    issuedKeys.push(issued.apiKey);
    return issued;
  }

  beforeAll(async () => {
    t = await startTestApp(
      { BCRYPT_COST: '4', AUTH_FAILURE_LIMIT: String(FAILURE_LIMIT), AUTH_FAILURE_WINDOW_MS: '10m' },
      { keyHasher: hasher, clock },
    );
    workspaceId = (await t.app.collectors.createWorkspace({ name: 'Auth', slug: 'auth' })).id;
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t.close();
  });

  test('a valid key is let through to the handler', async () => {
    const { apiKey } = await newCollector();
    expect((await exportStatus(t.ingestion, bearer(apiKey))).code).toBe(AUTHENTICATED);
  });

  test('no key, a malformed header and a wrong key get UNAUTHENTICATED with one generic message', async () => {
    const { apiKey } = await newCollector();
    const basic = new grpc.Metadata();
    basic.set('authorization', `Basic ${apiKey}`);
    const cases = [
      new grpc.Metadata(),
      bearer(''),
      bearer('abc'),
      bearer(apiKey.slice(0, -1)),
      basic,
      bearer(generateApiKey().key),
      bearer(`${apiKey.slice(0, -4)}AAAA` === apiKey ? `${apiKey.slice(0, -4)}BBBB` : `${apiKey.slice(0, -4)}AAAA`),
    ];
    for (const metadata of cases) {
      expect(await exportStatus(t.ingestion, metadata)).toMatchObject({
        code: grpc.status.UNAUTHENTICATED,
        details: 'invalid API key',
      });
    }
    // The scheme is case-insensitive.
    const lower = new grpc.Metadata();
    lower.set('authorization', `bearer ${apiKey}`);
    expect((await exportStatus(t.ingestion, lower)).code).toBe(AUTHENTICATED);
  });

  test('a revoked key gets UNAUTHENTICATED at once, with the generic message', async () => {
    const { apiKey, collector } = await newCollector();
    expect((await exportStatus(t.ingestion, bearer(apiKey))).code).toBe(AUTHENTICATED);
    const revoked = await t.app.collectors.revokeCollector(collector.id);
    expect(revoked).toMatchObject({ status: 'revoked', isActive: false });
    expect(revoked.revokedAt).not.toBeNull();
    expect(await exportStatus(t.ingestion, bearer(apiKey))).toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
      details: 'invalid API key',
    });
    // The row is kept for audit.
    expect((await t.app.collectors.listCollectors('auth')).map((c) => c.id)).toContain(collector.id);
  });

  test('an expired key gets UNAUTHENTICATED saying it expired, cached or not', async () => {
    const used = await newCollector(3_600_000);
    const unused = await newCollector(3_600_000);
    expect((await exportStatus(t.ingestion, bearer(used.apiKey))).code).toBe(AUTHENTICATED);
    clock.advance(2 * 3_600_000);
    for (const key of [used.apiKey, unused.apiKey]) {
      expect(await exportStatus(t.ingestion, bearer(key))).toMatchObject({
        code: grpc.status.UNAUTHENTICATED,
        details: 'API key has expired',
      });
    }
    // Extending the expiry on this replica takes effect at once.
    await t.app.collectors.updateCollector(used.collector.id, { expiresInMs: 3_600_000 });
    expect((await exportStatus(t.ingestion, bearer(used.apiKey))).code).toBe(AUTHENTICATED);
  });

  test('a rotated-away key gets UNAUTHENTICATED at once; the new key works', async () => {
    const { apiKey: oldKey, collector } = await newCollector();
    expect((await exportStatus(t.ingestion, bearer(oldKey))).code).toBe(AUTHENTICATED);
    const rotated = await t.app.collectors.rotateKey(collector.id);
    issuedKeys.push(rotated.apiKey);
    expect(rotated.apiKey).not.toBe(oldKey);
    expect(rotated.collector.id).toBe(collector.id);
    expect((await exportStatus(t.ingestion, bearer(oldKey))).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await exportStatus(t.ingestion, bearer(rotated.apiKey))).code).toBe(AUTHENTICATED);
  });

  test('a CollectorInfo naming another workspace or collector gets PERMISSION_DENIED; its own ids or empty ones pass', async () => {
    const { apiKey, collector } = await newCollector();
    const other = (await t.app.collectors.createWorkspace({ name: 'Other', slug: `other-${randomBytes(3).toString('hex')}` })).id;
    const info = (over: { workspaceId?: string; collectorId?: string }) => ({
      type: 'aiobscura',
      version: '1.0.0',
      hostname: 'box-1',
      collectorId: '',
      workspaceId: '',
      metadata: {},
      ...over,
    });
    expect(await exportStatus(t.ingestion, bearer(apiKey), info({ workspaceId: other }))).toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: expect.stringMatching(/workspace_id/),
    });
    const otherCollector = (await newCollector()).collector.id;
    expect((await exportStatus(t.ingestion, bearer(apiKey), info({ collectorId: otherCollector }))).code).toBe(
      grpc.status.PERMISSION_DENIED,
    );
    expect((await exportStatus(t.ingestion, bearer(apiKey), info({}))).code).toBe(AUTHENTICATED);
    expect(
      (await exportStatus(t.ingestion, bearer(apiKey), info({ workspaceId, collectorId: collector.id }))).code,
    ).toBe(AUTHENTICATED);
    // The accepted calls recorded the collector's activity (debounced, in the background).
    await t.app.collectorActivity.flush();
    const seen = (await t.app.collectors.listCollectors(workspaceId)).find((c) => c.id === collector.id);
    expect(seen).toMatchObject({ hostname: 'box-1', version: '1.0.0' });
    expect(seen?.lastSeenAt).not.toBeNull();
  });

  test('the key resolves to its own collector and workspace', async () => {
    const { apiKey, collector } = await newCollector();
    const caller = await t.app.collectors
      .listCollectors(workspaceId)
      .then((all) => all.find((c) => c.id === collector.id));
    expect(caller?.workspaceId).toBe(workspaceId);
    // What the RPC layer hands to handlers: the authenticator's Caller.
    const auth = new ApiKeyAuthenticator({
      db: t.app.database.db,
      hasher,
      clock,
      logger: t.logs.logger,
      cacheTtlMs: 30_000,
      failureLimit: 5,
      failureWindowMs: 60_000,
    });
    await expect(auth.authenticate(bearer(apiKey), '10.9.8.7:1234')).resolves.toEqual({
      collectorId: collector.id,
      collectorName: collector.name,
      workspaceId,
      rateLimits: { requestsPerMin: undefined, messagesPerMin: undefined },
    });
  });

  test('health and reflection need no key', async () => {
    expect(await t.health('')).toBe('SERVING');
    expect(await t.health('catsyphon.telemetry.v1.SessionIngestion')).toBe('SERVING');
    const reflection = new ReflectionClient(t.address);
    try {
      const services = await reflection.listServices();
      expect(services).toContain('catsyphon.telemetry.v1.SessionIngestion');
      // The admin API lives on the local socket only.
      expect(services.some((s) => s.startsWith('catsyphon.admin'))).toBe(false);
    } finally {
      reflection.close();
    }
  });

  test('after warm-up, many calls with one key run bcrypt once (concurrent first calls share it)', async () => {
    const { apiKey } = await newCollector();
    const before = hasher.compares;
    const first = await Promise.all(Array.from({ length: 20 }, () => exportStatus(t.ingestion, bearer(apiKey))));
    expect(first.every((r) => r.code === AUTHENTICATED)).toBe(true);
    for (let i = 0; i < 50; i++) expect((await exportStatus(t.ingestion, bearer(apiKey))).code).toBe(AUTHENTICATED);
    expect(hasher.compares - before).toBe(1);
  });

  test('an unknown key is cached negatively: repeating it runs no lookup or compare', async () => {
    const { apiKey, collector } = await newCollector();
    const wrong = `cs_live_${collector.keyPrefix.slice(8, 20)}${'x'.repeat(31)}`;
    expect(wrong).not.toBe(apiKey);
    const before = hasher.compares;
    for (let i = 0; i < 30; i++) expect((await exportStatus(t.ingestion, bearer(wrong))).code).toBe(grpc.status.UNAUTHENTICATED);
    expect(hasher.compares - before).toBe(1);
  });

  test('after the cache TTL, a change made elsewhere (another replica, the CLI) is seen', async () => {
    const { apiKey, collector } = await newCollector();
    const replica = new ApiKeyAuthenticator({
      db: t.app.database.db,
      hasher,
      clock,
      logger: t.logs.logger,
      cacheTtlMs: 300,
      failureLimit: 5,
      failureWindowMs: 60_000,
    });
    await expect(replica.authenticate(bearer(apiKey), '10.1.1.1:1')).resolves.toMatchObject({ collectorId: collector.id });
    // Revoked through a service that does not know this replica's cache.
    await new CollectorService({ db: t.app.database.db, hasher, clock }).revokeCollector(collector.id);
    await new Promise((resolve) => setTimeout(resolve, 600));
    await expect(replica.authenticate(bearer(apiKey), '10.1.1.1:1')).rejects.toMatchObject({ kind: 'unauthenticated' });
  });

  test('1000 calls with random bad keys run no bcrypt compare, and the peer is throttled with RetryInfo', async () => {
    const { apiKey: cached } = await newCollector();
    expect((await exportStatus(t.ingestion, bearer(cached))).code).toBe(AUTHENTICATED);
    const before = hasher.compares;
    const codes: grpc.status[] = [];
    let retryDelayMs: number | undefined;
    for (let batch = 0; batch < 20; batch++) {
      const results = await Promise.all(
        Array.from({ length: 50 }, () => exportStatus(t.ingestion, bearer(generateApiKey().key))),
      );
      for (const r of results) {
        codes.push(r.code);
        if (r.code === grpc.status.RESOURCE_EXHAUSTED && retryDelayMs === undefined) {
          const details = r.error?.metadata.get('grpc-status-details-bin')[0];
          retryDelayMs = decodeStatusDetails(details as Buffer).retryDelayMs;
        }
      }
    }
    expect(codes).toHaveLength(1000);
    expect(hasher.compares - before).toBe(0);
    expect(codes.every((c) => c === grpc.status.UNAUTHENTICATED || c === grpc.status.RESOURCE_EXHAUSTED)).toBe(true);
    // Only the failure budget's worth reached the database at all.
    expect(codes.filter((c) => c === grpc.status.UNAUTHENTICATED).length).toBeLessThanOrEqual(FAILURE_LIMIT);
    expect(retryDelayMs).toBeGreaterThan(0);
    // A key this server already verified still works from the throttled address.
    expect((await exportStatus(t.ingestion, bearer(cached))).code).toBe(AUTHENTICATED);
  });

  test('the log output of these calls (debug level) contains no key', () => {
    expect(issuedKeys.length).toBeGreaterThan(5);
    const text = t.logs.text();
    expect(text).toContain('"msg":"rpc"');
    for (const key of issuedKeys) {
      expect(text).not.toContain(key);
      expect(text).not.toContain(key.slice(8));
    }
  });
});

describe('API-key authentication under a flood of guesses at a real key prefix', () => {
  let t: TestApp;
  const hasher = new CountingHasher();
  const limit = 25;

  beforeAll(async () => {
    t = await startTestApp(
      { BCRYPT_COST: '4', AUTH_FAILURE_LIMIT: String(limit), AUTH_FAILURE_WINDOW_MS: '10m' },
      { keyHasher: hasher },
    );
    await t.app.collectors.createWorkspace({ name: 'Flood', slug: 'flood' });
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t.close();
  });

  test('1000 wrong keys sharing a collector\'s prefix cause at most the failure budget of compares', async () => {
    const { apiKey, collector } = await t.app.collectors.createCollector({ workspace: 'flood', name: 'target' });
    issuedKeys.push(apiKey);
    const prefix = collector.keyPrefix.slice(8, 20);
    const guess = () => `cs_live_${prefix}${generateApiKey().key.slice(20)}`;
    const before = hasher.compares;
    const codes: grpc.status[] = [];
    for (let batch = 0; batch < 20; batch++) {
      const results = await Promise.all(Array.from({ length: 50 }, () => exportStatus(t.ingestion, bearer(guess()))));
      codes.push(...results.map((r) => r.code));
    }
    const compares = hasher.compares - before;
    expect(compares).toBeGreaterThan(0);
    expect(compares).toBeLessThanOrEqual(limit);
    expect(codes.filter((c) => c === grpc.status.RESOURCE_EXHAUSTED).length).toBeGreaterThanOrEqual(1000 - limit);
    expect(t.logs.text()).not.toContain(apiKey);
  });
});
