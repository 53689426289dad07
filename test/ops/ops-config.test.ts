import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/config';
import { connectionOptions } from '../../src/grpc/server';

describe('config: TLS, connection management and metrics', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cs-config-'));
  const cert = path.join(dir, 'tls.crt');
  const key = path.join(dir, 'tls.key');
  writeFileSync(cert, 'x');
  writeFileSync(key, 'x');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const configError = (env: Record<string, string>): ConfigError => {
    try {
      loadConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) return err;
      throw err;
    }
    throw new Error('loadConfig accepted the environment');
  };

  test('defaults: plaintext, 5-minute connection age, metrics on 9464', () => {
    const config = loadConfig({});
    expect(config.tls).toBeUndefined();
    expect(config.grpc.maxConnectionAgeMs).toBe(300_000);
    expect(config.grpc.maxConnectionAgeGraceMs).toBe(30_000);
    expect(config.grpc.maxConcurrentStreams).toBe(100);
    expect(config.metrics).toEqual({ enabled: true, host: '0.0.0.0', port: 9464 });
  });

  test('cert and key turn TLS on; a client CA turns on mTLS', () => {
    expect(loadConfig({ TLS_CERT_FILE: cert, TLS_KEY_FILE: key }).tls).toEqual({
      certFile: cert,
      keyFile: key,
      clientCaFile: undefined,
      reloadIntervalMs: 30_000,
    });
    const mtls = loadConfig({ TLS_CERT_FILE: cert, TLS_KEY_FILE: key, TLS_CLIENT_CA_FILE: cert });
    expect(mtls.tls?.clientCaFile).toBe(cert);
  });

  test('validation names the variable', () => {
    expect(configError({ TLS_CERT_FILE: path.join(dir, 'missing.crt'), TLS_KEY_FILE: key }).variable).toBe(
      'TLS_CERT_FILE',
    );
    expect(configError({ TLS_CERT_FILE: cert, TLS_KEY_FILE: dir }).message).toMatch(/^TLS_KEY_FILE: file does not exist/);
    expect(configError({ TLS_CERT_FILE: cert }).variable).toBe('TLS_KEY_FILE');
    expect(configError({ TLS_KEY_FILE: key }).variable).toBe('TLS_CERT_FILE');
    expect(configError({ TLS_CLIENT_CA_FILE: cert }).variable).toBe('TLS_CLIENT_CA_FILE');
    expect(configError({ METRICS_PORT: '70000' }).variable).toBe('METRICS_PORT');
    expect(configError({ METRICS_ENABLED: 'maybe' }).variable).toBe('METRICS_ENABLED');
    expect(configError({ GRPC_MAX_CONNECTION_AGE_MS: 'soon' }).variable).toBe('GRPC_MAX_CONNECTION_AGE_MS');
    expect(configError({ GRPC_MAX_CONCURRENT_STREAMS: '0' }).variable).toBe('GRPC_MAX_CONCURRENT_STREAMS');
  });

  test('connection settings become grpc-js channel options; 0 leaves a limit off', () => {
    const options = connectionOptions(
      loadConfig({ GRPC_MAX_CONNECTION_AGE_MS: '2m', GRPC_MAX_CONNECTION_AGE_GRACE_MS: '10s', GRPC_KEEPALIVE_TIME_MS: '45s' })
        .grpc,
    );
    expect(options).toMatchObject({
      'grpc.max_connection_age_ms': 120_000,
      'grpc.max_connection_age_grace_ms': 10_000,
      'grpc.keepalive_time_ms': 45_000,
      'grpc.keepalive_timeout_ms': 20_000,
      'grpc.max_concurrent_streams': 100,
    });
    const off = connectionOptions(
      loadConfig({ GRPC_MAX_CONNECTION_AGE_MS: '0', GRPC_MAX_CONNECTION_AGE_GRACE_MS: '0', GRPC_KEEPALIVE_TIME_MS: '0' })
        .grpc,
    );
    expect(off).not.toHaveProperty('grpc.max_connection_age_ms');
    expect(off).not.toHaveProperty('grpc.max_connection_age_grace_ms');
    expect(off).not.toHaveProperty('grpc.keepalive_time_ms');
  });
});
