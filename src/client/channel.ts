import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { RetryOptions } from './retry';
import type { TlsOptions } from './types';

export const INGESTION_SERVICE = 'catsyphon.telemetry.v1.SessionIngestion';

/** The TLS flags of the command line (`--tls/--ca/--cert/--key/--server-name`), as `push` and the remote admin CLI take them. */
export interface TlsFlags {
  tls?: boolean;
  ca?: string;
  cert?: string;
  key?: string;
  serverName?: string;
}

/** Plaintext unless a TLS flag is given; the files are read here. */
export function tlsOptionsFromFlags(flags: TlsFlags): boolean | TlsOptions {
  if (!flags.tls && !flags.ca && !flags.cert) return false;
  return {
    ...(flags.ca ? { ca: readFileSync(flags.ca) } : {}),
    ...(flags.cert ? { cert: readFileSync(flags.cert) } : {}),
    ...(flags.key ? { key: readFileSync(flags.key) } : {}),
    ...(flags.serverName ? { serverNameOverride: flags.serverName } : {}),
  };
}

/** Plaintext, or TLS with an optional CA and client certificate. */
export function channelCredentials(tls: boolean | TlsOptions | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  const options = tls === true ? {} : tls;
  return grpc.credentials.createSsl(options.ca ?? null, options.key ?? null, options.cert ?? null);
}

const seconds = (ms: number) => `${(Math.max(ms, 1) / 1000).toFixed(3)}s`;

/**
 * The service config for `retryMode: 'channel'`: grpc-js's own retry
 * policy with the same codes and backoff. grpc-js caps maxAttempts at 5,
 * honours only the `grpc-retry-pushback-ms` trailer (not RetryInfo), uses
 * real timers, and stops retrying a call once it sent more than its
 * per-call retry buffer (raised to one batch below; a long stream exceeds it).
 */
export function retryServiceConfig(retry: RetryOptions): string {
  return JSON.stringify({
    methodConfig: [
      {
        name: [{ service: INGESTION_SERVICE }],
        retryPolicy: {
          maxAttempts: Math.max(2, Math.min(retry.maxAttempts, 5)),
          initialBackoff: seconds(retry.initialBackoffMs),
          maxBackoff: seconds(retry.maxBackoffMs),
          backoffMultiplier: retry.backoffMultiplier,
          retryableStatusCodes: retry.retryableCodes.map((c) => grpc.status[c]),
        },
      },
    ],
  });
}

export function channelOptions(
  tls: boolean | TlsOptions | undefined,
  maxBytes: number,
  retry: RetryOptions,
  mode: 'app' | 'channel',
  extra: grpc.ChannelOptions = {},
): grpc.ChannelOptions {
  const tlsName = typeof tls === 'object' && tls.serverNameOverride ? { 'grpc.ssl_target_name_override': tls.serverNameOverride } : {};
  const retries =
    mode === 'channel' && retry.maxAttempts > 1
      ? {
          'grpc.service_config': retryServiceConfig(retry),
          'grpc.enable_retries': 1,
          // grpc-js only retries a call whose messages it still buffers (1 MiB by default): room for one batch.
          'grpc.per_rpc_retry_buffer_size': maxBytes,
          'grpc.retry_buffer_size': Math.max(16 * 1024 * 1024, 4 * maxBytes),
        }
      : {};
  return {
    'grpc.max_send_message_length': maxBytes,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    ...tlsName,
    ...retries,
    ...extra,
  };
}
