import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { generateApiKey } from '../../src/auth/api-key';
import { ApiKeyAuthenticator } from '../../src/auth/api-key.authenticator';
import { CollectorService } from '../../src/collectors/collector.service';
import { decodeStatusDetails } from '../../src/grpc/retry-info';
import { bearer, CountingHasher, exportStatus, FakeClock } from '../helpers/auth-fixtures';
import { ReflectionClient } from '../helpers/reflection-client';
import { startTestApp, type TestApp } from '../helpers/test-app';

/**
 * Authentication over a real socket. An authenticated call of an empty batch
 * succeeds (OK); an unauthenticated one gets UNAUTHENTICATED before any
 * handler runs.
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
      // A long cache TTL: a slow machine must not let a verified key expire mid-test.
      { BCRYPT_COST: '4', AUTH_FAILURE_LIMIT: String(FAILURE_LIMIT), AUTH_FAILURE_WINDOW_MS: '10m', AUTH_CACHE_TTL_MS: '1h' },
      { keyHasher: hasher, clock },
    );
    workspaceId = (await t.app.collectors.createWorkspace({ name: 'Auth', slug: 'auth' })).id;
  });
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

  test('500 random bad keys from one address cost no bcrypt and no budget; then a valid never-cached key answers OK at once', async () => {
    const before = hasher.compares;
    const codes: grpc.status[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const results = await Promise.all(
        Array.from({ length: 50 }, () => exportStatus(t.ingestion, bearer(generateApiKey().key))),
      );
      codes.push(...results.map((r) => r.code));
    }
    expect(codes).toHaveLength(500);
    expect(codes.every((c) => c === grpc.status.UNAUTHENTICATED)).toBe(true);
    expect(hasher.compares - before).toBe(0);
    // Same address (127.0.0.1), a key this server has never seen: verified on the first try.
    const { apiKey } = await newCollector();
    expect((await exportStatus(t.ingestion, bearer(apiKey))).code).toBe(AUTHENTICATED);
    expect(hasher.compares - before).toBe(1);
  });

  test("30 wrong secrets for collector A's prefix throttle A's prefix (RetryInfo) while B ingests, and A's cached right key works", async () => {
    const a = await newCollector();
    const b = await newCollector();
    expect((await exportStatus(t.ingestion, bearer(a.apiKey))).code).toBe(AUTHENTICATED);
    const prefix = a.apiKey.slice(8, 20);
    const wrong = () => `cs_live_${prefix}${generateApiKey().key.slice(20)}`;
    const codes: grpc.status[] = [];
    let retryDelayMs: number | undefined;
    for (let i = 0; i < 30; i++) {
      const r = await exportStatus(t.ingestion, bearer(wrong()));
      codes.push(r.code);
      if (r.code === grpc.status.RESOURCE_EXHAUSTED && retryDelayMs === undefined) {
        expect(r.details).toMatch(/too many failed authentication attempts for this key's collector/);
        retryDelayMs = decodeStatusDetails(r.error?.metadata.get('grpc-status-details-bin')[0] as Buffer).retryDelayMs;
      }
    }
    expect(codes.slice(0, FAILURE_LIMIT).every((c) => c === grpc.status.UNAUTHENTICATED)).toBe(true);
    expect(codes.slice(FAILURE_LIMIT).every((c) => c === grpc.status.RESOURCE_EXHAUSTED)).toBe(true);
    expect(retryDelayMs).toBeGreaterThan(0);
    // B, from the same address, is not affected: its never-cached key verifies and it keeps ingesting.
    for (let i = 0; i < 5; i++) expect((await exportStatus(t.ingestion, bearer(b.apiKey))).code).toBe(AUTHENTICATED);
    // A's right key, verified and cached before, still works.
    expect((await exportStatus(t.ingestion, bearer(a.apiKey))).code).toBe(AUTHENTICATED);
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
  });
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

describe('API-key authentication under guesses at many key prefixes', () => {
  let t: TestApp;
  const hasher = new CountingHasher();
  const perPrefix = 5;
  const globalLimit = 12;

  beforeAll(async () => {
    t = await startTestApp(
      {
        BCRYPT_COST: '4',
        AUTH_FAILURE_LIMIT: String(perPrefix),
        AUTH_FAILURE_GLOBAL_LIMIT: String(globalLimit),
        AUTH_FAILURE_WINDOW_MS: '10m',
        AUTH_CACHE_TTL_MS: '1h',
      },
      { keyHasher: hasher },
    );
    await t.app.collectors.createWorkspace({ name: 'Many', slug: 'many' });
  });
  afterAll(async () => {
    await t.close();
  });

  test('bcrypt compares stay under the documented bound (AUTH_FAILURE_GLOBAL_LIMIT failed compares per window); cached keys keep working', async () => {
    const collectors = [];
    for (let i = 0; i < 6; i++) collectors.push(await t.app.collectors.createCollector({ workspace: 'many', name: `m${i}` }));
    issuedKeys.push(...collectors.map((c) => c.apiKey));
    const cached = collectors[0].apiKey;
    expect((await exportStatus(t.ingestion, bearer(cached))).code).toBe(AUTHENTICATED);
    const prefixes = collectors.map((c) => c.apiKey.slice(8, 20));
    const before = hasher.compares;
    const codes: grpc.status[] = [];
    for (let batch = 0; batch < 20; batch++) {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => {
          const key =
            i % 5 === 0
              ? generateApiKey().key
              : `cs_live_${prefixes[(batch + i) % prefixes.length]}${generateApiKey().key.slice(20)}`;
          return exportStatus(t.ingestion, bearer(key));
        }),
      );
      codes.push(...results.map((r) => r.code));
    }
    const compares = hasher.compares - before;
    // Documented bound: failed compares per window <= min(AUTH_FAILURE_GLOBAL_LIMIT, AUTH_FAILURE_LIMIT x prefixes).
    expect(compares).toBeLessThanOrEqual(Math.min(globalLimit, perPrefix * prefixes.length));
    expect(compares).toBeGreaterThan(0);
    expect(codes.every((c) => c === grpc.status.UNAUTHENTICATED || c === grpc.status.RESOURCE_EXHAUSTED)).toBe(true);
    expect(codes.filter((c) => c === grpc.status.RESOURCE_EXHAUSTED).length).toBeGreaterThan(500);
    // A key verified before the flood is answered from the cache.
    expect((await exportStatus(t.ingestion, bearer(cached))).code).toBe(AUTHENTICATED);
    // Random keys (unknown prefixes) are still told UNAUTHENTICATED, never throttled.
    expect((await exportStatus(t.ingestion, bearer(generateApiKey().key))).code).toBe(grpc.status.UNAUTHENTICATED);
  });
});
