/**
 * Who is calling: the collector behind an authenticated call. The bottom of
 * the domain: it imports nothing, so any transport (gRPC today, OTLP next)
 * can authenticate a call and hand the same Caller to auth, protect and ingest.
 */

/** Per-collector overrides of the configured rate limits; undefined keeps the default. */
export interface CallerRateLimits {
  readonly requestsPerMin: number | undefined;
  readonly messagesPerMin: number | undefined;
}

/** The collector behind an authenticated call, handed to every handler. */
export interface Caller {
  readonly collectorId: string;
  readonly collectorName: string;
  readonly workspaceId: string;
  /** Per-collector overrides of the configured rate limits, when set. */
  readonly rateLimits: CallerRateLimits;
}

/**
 * A call's request headers, whatever the transport: grpc-js Metadata fits
 * as is; an HTTP adapter wraps its header map.
 */
export interface RequestHeaders {
  get(name: string): ReadonlyArray<string | Buffer>;
}

/** Resolves the caller from the request headers, or throws an UNAUTHENTICATED DomainError. */
export interface Authenticator {
  authenticate(headers: RequestHeaders, peer: string): Promise<Caller>;
}
