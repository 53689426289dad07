import * as grpc from '@grpc/grpc-js';
import type { Config } from '../config/config';
import { DomainError, type DomainErrorKind } from '../errors/domain-error';
import type { Logger } from '../logging/logger';
import { isDatabaseUnavailable } from '../db/errors';
import { encodeRetryInfoDetails } from './retry-info';

const STATUS_BY_KIND: Record<DomainErrorKind, grpc.status> = {
  invalid_argument: grpc.status.INVALID_ARGUMENT,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  permission_denied: grpc.status.PERMISSION_DENIED,
  not_found: grpc.status.NOT_FOUND,
  already_exists: grpc.status.ALREADY_EXISTS,
  failed_precondition: grpc.status.FAILED_PRECONDITION,
  aborted: grpc.status.ABORTED,
  resource_exhausted: grpc.status.RESOURCE_EXHAUSTED,
  unavailable: grpc.status.UNAVAILABLE,
  deadline_exceeded: grpc.status.DEADLINE_EXCEEDED,
};

/** The name of the status toServiceError gives `err` (for the audit trail; nothing is logged). */
export function statusNameOf(err: unknown): string {
  const code =
    err instanceof DomainError
      ? STATUS_BY_KIND[err.kind]
      : isDatabaseUnavailable(err)
        ? grpc.status.UNAVAILABLE
        : grpc.status.INTERNAL;
  return grpc.status[code];
}

/** Retry delays for errors that carry none of their own (from the config). */
export interface StatusPolicy {
  /** RetryInfo delay of UNAVAILABLE when the database is lost mid-call (OVERLOAD_RETRY_DELAY_MS). */
  readonly unavailableRetryDelayMs: number;
}

export function statusPolicyOf(config: Pick<Config, 'protect'>): StatusPolicy {
  return { unavailableRetryDelayMs: config.protect.overloadRetryDelayMs };
}

/**
 * The one place where errors become gRPC statuses (RPC handlers, the
 * admission interceptor and the admin socket all come here). Domain errors keep their
 * message; a lost database becomes UNAVAILABLE (retryable); anything else is
 * logged in full and answered with a generic INTERNAL.
 */
export function toServiceError(err: unknown, logger: Logger, policy: StatusPolicy): grpc.StatusObject {
  if (err instanceof DomainError) {
    const metadata = new grpc.Metadata();
    if (err.retryDelayMs !== undefined) {
      metadata.set(
        'grpc-status-details-bin',
        encodeRetryInfoDetails(STATUS_BY_KIND[err.kind], err.message, err.retryDelayMs),
      );
    }
    return { code: STATUS_BY_KIND[err.kind], details: err.message, metadata };
  }
  if (isDatabaseUnavailable(err)) {
    logger.warn({ err }, 'database unavailable');
    const metadata = new grpc.Metadata();
    const message = 'database unavailable, retry later';
    metadata.set(
      'grpc-status-details-bin',
      encodeRetryInfoDetails(grpc.status.UNAVAILABLE, message, policy.unavailableRetryDelayMs),
    );
    return { code: grpc.status.UNAVAILABLE, details: message, metadata };
  }
  logger.error({ err }, 'unexpected error');
  return { code: grpc.status.INTERNAL, details: 'internal error', metadata: new grpc.Metadata() };
}
