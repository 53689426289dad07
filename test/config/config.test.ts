import { ConfigError, loadConfig } from '../../src/config/config';
import { formatDuration, parseDuration } from '../../src/util/duration';

describe('config', () => {
  test('defaults give a plaintext server on 0.0.0.0:4317 over the embedded database in ./data', () => {
    const config = loadConfig({});
    expect(config.grpc).toEqual({
      host: '0.0.0.0',
      port: 4317,
      maxReceiveMessageBytes: 64 * 1024 * 1024,
      maxConnectionAgeMs: 5 * 60_000,
      maxConnectionAgeGraceMs: 30_000,
      keepaliveTimeMs: 60_000,
      keepaliveTimeoutMs: 20_000,
      maxConcurrentStreams: 100,
      healthPort: undefined,
    });
    expect(config.tls).toBeUndefined();
    expect(config.database.url).toBeUndefined();
    expect(config.database.dataDir).toBe('./data');
    expect(config.ingest.maxSessionsPerBatch).toBe(1000);
    expect(config.ingest.idempotencyTtlMs).toBe(24 * 3600 * 1000);
    expect(config.auth.bcryptCost).toBeGreaterThanOrEqual(10);
  });

  test('data lifecycle: AUDIT_RETENTION 90d, retention of new workspaces `never` unless RETENTION_DEFAULT says otherwise', () => {
    expect(loadConfig({}).lifecycle).toEqual({
      auditRetentionMs: 90 * 86_400_000,
      retentionDefaultMs: null,
      sweepIntervalMs: 60_000,
      sweepBatchSessions: 200,
    });
    const set = loadConfig({ AUDIT_RETENTION: '30d', RETENTION_DEFAULT: '365d', RETENTION_SWEEP_INTERVAL: '5m' }).lifecycle;
    expect(set).toMatchObject({ auditRetentionMs: 30 * 86_400_000, retentionDefaultMs: 365 * 86_400_000, sweepIntervalMs: 300_000 });
    expect(loadConfig({ RETENTION_DEFAULT: 'never' }).lifecycle.retentionDefaultMs).toBeNull();
    for (const [variable, value] of [
      ['RETENTION_DEFAULT', 'soon'],
      ['RETENTION_DEFAULT', '10ms'],
      ['AUDIT_RETENTION', 'forever'],
    ]) {
      expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`^${variable}: `));
    }
  });

  test('values are parsed and the result is deeply frozen', () => {
    const config = loadConfig({
      GRPC_PORT: '5000',
      DATABASE_URL: 'postgres://u:p@db:5432/x',
      SHUTDOWN_GRACE_MS: '10s',
      IDEMPOTENCY_TTL: '2h',
      MIGRATE_ON_START: 'false',
    });
    expect(config.grpc.port).toBe(5000);
    expect(config.database.url).toBe('postgres://u:p@db:5432/x');
    expect(config.shutdownGraceMs).toBe(10_000);
    expect(config.ingest.idempotencyTtlMs).toBe(7_200_000);
    expect(config.database.migrateOnStart).toBe(false);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.grpc)).toBe(true);
    expect(() => {
      (config.grpc as { port: number }).port = 1;
    }).toThrow();
  });

  test('ADMIN_API is off by default and takes on/off', () => {
    expect(loadConfig({}).adminApi.enabled).toBe(false);
    expect(loadConfig({ ADMIN_API: 'on' }).adminApi.enabled).toBe(true);
    expect(loadConfig({ ADMIN_API: 'OFF' }).adminApi.enabled).toBe(false);
    expect(() => loadConfig({ ADMIN_API: 'enabled' })).toThrow(/ADMIN_API: must be on or off/);
  });

  test('an empty DATABASE_URL means the embedded database', () => {
    expect(loadConfig({ DATABASE_URL: '' }).database.url).toBeUndefined();
  });

  test.each([
    ['GRPC_PORT', 'abc'],
    ['GRPC_PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['DB_POOL_SIZE', '0'],
    ['LOG_LEVEL', 'loud'],
    ['SHUTDOWN_GRACE_MS', 'soon'],
    ['MAX_RECEIVE_MESSAGE_BYTES', '-1'],
    ['MIGRATE_ON_START', 'maybe'],
    ['ADMIN_API', 'enabled'],
  ])('an invalid %s=%s stops the start with an error naming the variable', (variable, value) => {
    let error: unknown;
    try {
      loadConfig({ [variable]: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as Error).message).toContain(variable);
  });
});

describe('durations', () => {
  test.each([
    ['30s', 30_000],
    ['15m', 900_000],
    ['12h', 43_200_000],
    ['90d', 7_776_000_000],
    ['250ms', 250],
    ['1500', 1500],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(parseDuration(formatDuration(ms))).toBe(ms);
  });

  test.each(['', 'abc', '10y', '-5s', '1.5.5s'])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('OTLP/HTTP settings', () => {
  const variableOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) return [err.variable, err.message];
      throw err;
    }
    return undefined;
  };

  test('OTLP_HTTP_PORT defaults to 4318 on GRPC_HOST; 0 turns the listener off', () => {
    expect(loadConfig({}).otlp).toEqual({ httpHost: '0.0.0.0', httpPort: 4318 });
    expect(loadConfig({ GRPC_HOST: '127.0.0.1' }).otlp.httpHost).toBe('127.0.0.1');
    expect(loadConfig({ OTLP_HTTP_HOST: '::1' }).otlp.httpHost).toBe('::1');
    expect(loadConfig({ OTLP_HTTP_PORT: '0' }).otlp.httpPort).toBeUndefined();
  });

  test('invalid or clashing ports are named errors', () => {
    expect(variableOf({ OTLP_HTTP_PORT: 'http' })?.[0]).toBe('OTLP_HTTP_PORT');
    expect(variableOf({ OTLP_HTTP_PORT: '70000' })?.[0]).toBe('OTLP_HTTP_PORT');
    expect(variableOf({ OTLP_HTTP_PORT: '4317' })).toEqual(['OTLP_HTTP_PORT', expect.stringContaining('must differ from GRPC_PORT')]);
    expect(variableOf({ OTLP_HTTP_PORT: '9464' })?.[1]).toContain('METRICS_PORT');
    expect(variableOf({ HEALTH_PORT: '4318' })?.[1]).toContain('HEALTH_PORT');
    expect(variableOf({ OTLP_HTTP_PORT: '0', HEALTH_PORT: '4318' })).toBeUndefined();
  });
});

describe('config: rate-limit bursts and scope, authentication budgets', () => {
  test('an unset burst is 2 minutes\' worth of the rate; an explicit burst wins; 0 means none', () => {
    const derived = loadConfig({ RATE_LIMIT_REQUESTS_PER_MIN: '5', RATE_LIMIT_MESSAGES_PER_MIN: '1000' }).protect.rateLimits;
    expect(derived).toEqual({ requestsPerMin: 5, requestsBurst: 10, messagesPerMin: 1000, messagesBurst: 2000 });
    const explicit = loadConfig({ RATE_LIMIT_REQUESTS_PER_MIN: '5', RATE_LIMIT_REQUESTS_BURST: '7', RATE_LIMIT_MESSAGES_BURST: '0' });
    expect(explicit.protect.rateLimits.requestsBurst).toBe(7);
    expect(explicit.protect.rateLimits.messagesBurst).toBe(0);
    expect(loadConfig({ RATE_LIMIT_REQUESTS_BURST: '' }).protect.rateLimits.requestsBurst).toBe(12_000);
  });

  test('RATE_LIMIT_SCOPE defaults to cluster with DATABASE_URL and to replica on the embedded database', () => {
    expect(loadConfig({}).protect.rateLimitScope).toBe('replica');
    expect(loadConfig({ DATABASE_URL: 'postgres://db/x' }).protect.rateLimitScope).toBe('cluster');
    expect(loadConfig({ DATABASE_URL: 'postgres://db/x', RATE_LIMIT_SCOPE: 'replica' }).protect.rateLimitScope).toBe('replica');
    expect(loadConfig({ REPLICA_HEARTBEAT_INTERVAL_MS: '2s' }).protect.heartbeatIntervalMs).toBe(2_000);
  });

  test('authentication budgets: per prefix, global, and the unknown-prefix cache', () => {
    const auth = loadConfig({ AUTH_FAILURE_LIMIT: '3', AUTH_FAILURE_GLOBAL_LIMIT: '50', AUTH_UNKNOWN_PREFIX_CACHE_MAX: '10' }).auth;
    expect(auth).toMatchObject({ failureLimit: 3, failureGlobalLimit: 50, unknownPrefixCacheMax: 10 });
    expect(loadConfig({}).auth).toMatchObject({ failureLimit: 20, failureGlobalLimit: 200, unknownPrefixCacheMax: 100_000 });
  });

  test.each([
    ['RATE_LIMIT_SCOPE', 'global'],
    ['RATE_LIMIT_REQUESTS_BURST', '-1'],
    ['RATE_LIMIT_MESSAGES_BURST', 'lots'],
    ['REPLICA_HEARTBEAT_INTERVAL_MS', '1ms'],
    ['AUTH_FAILURE_GLOBAL_LIMIT', '0'],
    ['AUTH_UNKNOWN_PREFIX_CACHE_MAX', 'x'],
  ])('an invalid %s=%s is an error naming the variable', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`^${variable}:`));
  });
});
