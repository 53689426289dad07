import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { type CollectorCredentials, findCredentialsByPrefix } from './credentials.repository';
import type { DB } from '../db/schema';
import { DomainError, unauthenticated } from '../errors/domain-error';
import type { Authenticator, Caller, RequestHeaders } from '../identity/caller';
import type { Logger } from '../logging/logger';
import type { AuthFailureReason, IngestMetrics } from '../metrics/ingest-metrics';
import type { Clock } from '../util/clock';
import { isWellFormedApiKey, keyDigest, keyPrefix } from './api-key';
import type { KeyHasher } from './key-hasher';
import { peerAddress } from './peer-address';

export interface ApiKeyAuthenticatorOptions {
  readonly db: Kysely<DB>;
  readonly hasher: KeyHasher;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long a verified (or unknown) key is trusted without asking the database again. */
  readonly cacheTtlMs: number;
  /** Uncached verifications that may fail per peer address per window before it is throttled. */
  readonly failureLimit: number;
  readonly failureWindowMs: number;
  readonly cacheMax?: number;
  /** Told why each call was refused (the auth-failure counter); nothing when absent. */
  readonly metrics?: Pick<IngestMetrics, 'authFailure'>;
}

/** What one bcrypt verification established about a key, cached by the key's SHA-256. */
interface VerifiedKey {
  readonly caller: Caller;
  readonly active: boolean;
  readonly expiresAtMs: number | null;
}

const BEARER = /^Bearer +(\S+)$/i;

/**
 * Authenticates `authorization: Bearer cs_live_…` against the collectors
 * table.
 *
 * - Verified keys are cached by SHA-256 for `cacheTtlMs`, so bcrypt runs once
 *   per key per TTL; concurrent first calls with one key share one compare.
 * - Unknown keys (no such prefix, or the hash does not match) are cached
 *   negatively; a key that did not match never will.
 * - Every uncached verification reserves a point of its peer address's
 *   failure budget and gets it back on success, so a flood of bad keys from
 *   one address runs at most `failureLimit` lookups/compares per window and
 *   then gets RESOURCE_EXHAUSTED with a retry delay. Cached keys are never
 *   throttled.
 * - Revoked, unknown and malformed keys all get the same UNAUTHENTICATED
 *   message; only an expired key is told so.
 */
export class ApiKeyAuthenticator implements Authenticator {
  private readonly verified: LRUCache<string, VerifiedKey>;
  private readonly unknown: LRUCache<string, true>;
  private readonly pending = new Map<string, Promise<VerifiedKey | undefined>>();
  private readonly failures: RateLimiterMemory;
  private readonly logger: Logger;

  constructor(private readonly options: ApiKeyAuthenticatorOptions) {
    const max = options.cacheMax ?? 10_000;
    const ttl = Math.max(1, options.cacheTtlMs);
    this.verified = new LRUCache({ max, ttl });
    this.unknown = new LRUCache({ max: max * 10, ttl });
    this.failures = new RateLimiterMemory({
      points: options.failureLimit,
      duration: Math.max(1, Math.ceil(options.failureWindowMs / 1000)),
    });
    this.logger = options.logger.child({ component: 'auth' });
  }

  async authenticate(metadata: RequestHeaders, peer: string): Promise<Caller> {
    const bearer = bearerKey(metadata);
    if (bearer.kind === 'refused') throw this.refuse(bearer.reason);
    const { key } = bearer;
    const digest = keyDigest(key);
    const cached = this.verified.get(digest);
    if (cached) return this.admit(cached);
    if (this.unknown.has(digest)) throw this.refuse('unknown');

    let verification = this.pending.get(digest);
    const address = peerAddress(peer);
    const first = verification === undefined;
    if (!verification) {
      await this.reserveAttempt(address);
      verification = this.verify(key, digest).finally(() => this.pending.delete(digest));
      this.pending.set(digest, verification);
    }
    let result: VerifiedKey | undefined;
    try {
      result = await verification;
    } catch (err) {
      // The database failed, not the caller: give the attempt back.
      if (first) await this.failures.reward(address, 1);
      throw err;
    }
    if (!result) {
      if (first) this.logger.debug({ peer: address }, 'unknown API key');
      throw this.refuse('unknown');
    }
    const caller = this.admit(result);
    if (first) await this.failures.reward(address, 1);
    return caller;
  }

  /**
   * Forgets every cached verification of a collector's keys: called when its
   * key is rotated, it is revoked or updated on this replica.
   */
  forgetCollector(collectorId: string): void {
    for (const [digest, entry] of this.verified.entries()) {
      if (entry.caller.collectorId === collectorId) this.verified.delete(digest);
    }
  }

  private admit(entry: VerifiedKey): Caller {
    if (!entry.active) throw this.refuse('revoked');
    if (entry.expiresAtMs !== null && entry.expiresAtMs <= this.options.clock.now()) {
      throw this.refuse('expired', 'API key has expired');
    }
    return entry.caller;
  }

  /** Counts a refusal by reason; returns the UNAUTHENTICATED error to throw. */
  private refuse(reason: AuthFailureReason, message?: string): DomainError {
    this.options.metrics?.authFailure(reason);
    return unauthenticated(message);
  }

  private async reserveAttempt(address: string): Promise<void> {
    try {
      await this.failures.consume(address, 1);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      this.options.metrics?.authFailure('throttled');
      this.logger.warn({ peer: address, retryInMs: err.msBeforeNext }, 'too many failed authentication attempts');
      throw new DomainError('resource_exhausted', 'too many failed authentication attempts, retry later', {
        retryDelayMs: err.msBeforeNext,
      });
    }
  }

  private async verify(key: string, digest: string): Promise<VerifiedKey | undefined> {
    const row = await findCredentialsByPrefix(this.options.db, keyPrefix(key));
    if (!row || !(await this.options.hasher.compare(key, row.key_hash))) {
      this.unknown.set(digest, true);
      return undefined;
    }
    const entry = toVerifiedKey(row);
    this.verified.set(digest, entry);
    return entry;
  }
}

function toVerifiedKey(row: CollectorCredentials): VerifiedKey {
  return {
    caller: {
      collectorId: row.id,
      collectorName: row.name,
      workspaceId: row.workspace_id,
      rateLimits: {
        requestsPerMin: row.rate_limit_requests_per_min ?? undefined,
        messagesPerMin: row.rate_limit_messages_per_min ?? undefined,
      },
    },
    active: row.is_active,
    expiresAtMs: row.expires_at === null ? null : new Date(row.expires_at).getTime(),
  };
}

/** The key of a single well-formed `authorization: Bearer <key>` header, else why there is none. */
function bearerKey(
  metadata: RequestHeaders,
): { kind: 'key'; key: string } | { kind: 'refused'; reason: 'missing' | 'malformed' } {
  const values = metadata.get('authorization');
  if (values.length === 0) return { kind: 'refused', reason: 'missing' };
  if (values.length !== 1 || typeof values[0] !== 'string') return { kind: 'refused', reason: 'malformed' };
  const match = BEARER.exec(values[0].trim());
  return match && isWellFormedApiKey(match[1]) ? { kind: 'key', key: match[1] } : { kind: 'refused', reason: 'malformed' };
}
