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
