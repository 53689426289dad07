import * as grpc from '@grpc/grpc-js';
import { decodeStatusDetails } from '../grpc/retry-info';

/** How the client retries a failed call (app-level retries, see README "Sending sessions"). */
export interface RetryOptions {
  /** Attempts per batch, the first included (default 5). 1 disables retries. */
  readonly maxAttempts: number;
  /** First backoff before jitter (default 200 ms). */
  readonly initialBackoffMs: number;
  /** Cap of the exponential backoff and of a server's RetryInfo delay (default 30 s). */
  readonly maxBackoffMs: number;
  readonly backoffMultiplier: number;
  /** Codes that are retried (default UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED). */
  readonly retryableCodes: readonly grpc.status[];
}

export const DEFAULT_RETRYABLE_CODES: readonly grpc.status[] = Object.freeze([
  grpc.status.UNAVAILABLE,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.RESOURCE_EXHAUSTED,
]);

export const DEFAULT_RETRY: RetryOptions = Object.freeze({
  maxAttempts: 5,
  initialBackoffMs: 200,
  maxBackoffMs: 30_000,
  backoffMultiplier: 2,
  retryableCodes: DEFAULT_RETRYABLE_CODES,
});

/** Time and randomness, injectable so tests never wait. */
export interface RetryEnv {
  sleep(ms: number): Promise<void>;
  /** Uniform in [0, 1). */
  random(): number;
}

export const realRetryEnv: RetryEnv = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/** What a retry callback learns about the failed attempt. */
export interface RetryEvent {
  readonly attempt: number;
  readonly code: grpc.status;
  readonly details: string;
  readonly delayMs: number;
  /** The server's RetryInfo delay, when the status carried one. */
  readonly retryInfoDelayMs: number | undefined;
}

/** The RetryInfo delay of a failed call (`grpc-status-details-bin` trailer), if any. */
export function retryInfoDelayMs(err: grpc.ServiceError): number | undefined {
  const [value] = err.metadata?.get('grpc-status-details-bin') ?? [];
  if (value === undefined) return undefined;
  try {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'base64') : value;
    return decodeStatusDetails(bytes).retryDelayMs;
  } catch {
    return undefined;
  }
}

/**
 * Delay before the next attempt. A server RetryInfo delay is a floor (a
 * little jitter, at most 20 % or 1 s, spreads the clients out); otherwise
 * full-jitter exponential backoff: uniform in [0, min(max, initial * mult^(n-1))].
 */
export function backoffDelayMs(attempt: number, options: RetryOptions, random: () => number, serverDelayMs?: number): number {
  if (serverDelayMs !== undefined) {
    const floor = Math.min(serverDelayMs, options.maxBackoffMs);
    return Math.round(floor + random() * Math.min(floor * 0.2, 1000));
  }
  const ceiling = Math.min(options.maxBackoffMs, options.initialBackoffMs * options.backoffMultiplier ** (attempt - 1));
  return Math.round(random() * ceiling);
}

export function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as grpc.ServiceError).code === 'number';
}

/** Outcome of a retried operation: its value, or the last error, and how many attempts it took. */
export type RetryOutcome<T> =
  | { kind: 'done'; value: T; attempts: number }
  | { kind: 'failed'; error: grpc.ServiceError; attempts: number };

/**
 * Runs `attempt` until it succeeds, fails with a code that is not retryable,
 * or runs out of attempts. The operation itself must be idempotent (the
 * caller reuses the same batch_id on every attempt).
 */
export async function withRetries<T>(
  attempt: (n: number) => Promise<T>,
  options: RetryOptions,
  env: RetryEnv,
  onRetry?: (event: RetryEvent) => void,
): Promise<RetryOutcome<T>> {
  for (let n = 1; ; n++) {
    try {
      return { kind: 'done', value: await attempt(n), attempts: n };
    } catch (err) {
      if (!isServiceError(err)) throw err;
      if (!options.retryableCodes.includes(err.code) || n >= options.maxAttempts) {
        return { kind: 'failed', error: err, attempts: n };
      }
      const serverDelay = retryInfoDelayMs(err);
      const delayMs = backoffDelayMs(n, options, env.random, serverDelay);
      onRetry?.({ attempt: n, code: err.code, details: err.details, delayMs, retryInfoDelayMs: serverDelay });
      await env.sleep(delayMs);
    }
  }
}
