/**
 * Domain errors: what a handler may fail with on purpose. They are mapped to
 * gRPC status codes in exactly one place (src/grpc/status.ts); anything else
 * thrown is a bug or an outage and becomes INTERNAL or UNAVAILABLE there.
 */
export type DomainErrorKind =
  | 'invalid_argument'
  | 'unauthenticated'
  | 'permission_denied'
  | 'not_found'
  | 'already_exists'
  | 'failed_precondition'
  | 'aborted'
  | 'resource_exhausted'
  | 'unavailable'
  | 'deadline_exceeded';

export interface DomainErrorOptions {
  /** Sent to the client as google.rpc.RetryInfo.retry_delay. */
  readonly retryDelayMs?: number;
  readonly cause?: unknown;
}

export class DomainError extends Error {
  readonly retryDelayMs: number | undefined;

  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    options: DomainErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'DomainError';
    this.retryDelayMs = options.retryDelayMs;
  }
}

export const invalidArgument = (message: string) => new DomainError('invalid_argument', message);
export const unauthenticated = (message = 'invalid API key') => new DomainError('unauthenticated', message);
export const permissionDenied = (message: string) => new DomainError('permission_denied', message);
export const notFound = (message: string) => new DomainError('not_found', message);
export const unavailable = (message: string, options?: DomainErrorOptions) =>
  new DomainError('unavailable', message, options);
