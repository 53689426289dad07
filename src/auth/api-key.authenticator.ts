import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import { type AuthFailureBudget, FailureBudget, type FailureBudgetLimit } from './auth-failure-budget';
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
  /** Wrong secrets per collector key prefix per window before that prefix is throttled. */
  readonly failureLimit: number;
  readonly failureWindowMs: number;
  /** Failed bcrypt compares per window across all prefixes (default 10 × failureLimit). */
  readonly failureGlobalLimit?: number;
  /** Entries of the negative cache of unknown prefixes (default 100,000; 0 = none). */
  readonly unknownPrefixCacheMax?: number;
  readonly cacheMax?: number;
  /** Replaces the failure budget built from the options above (tests, shared budgets). */
  readonly failureBudget?: AuthFailureBudget;
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
 * table, spending bcrypt only where it can succeed and never locking a valid
 * key out because of someone else's bad keys.
 *
 * - Verified keys are cached by SHA-256 for `cacheTtlMs`, so bcrypt runs once
 *   per key per TTL; concurrent first calls with one key share one compare.
 *   Cached keys are never throttled.
 * - A key whose lookup prefix names no collector costs one indexed lookup and
 *   no bcrypt, spends no budget, and its prefix is cached negatively (an LRU
 *   of at most `unknownPrefixCacheMax` prefixes), so repeating it costs
 *   nothing. A flood of random keys therefore never refuses anyone else.
 * - A known prefix with a wrong secret costs one bcrypt compare, budgeted per
 *   prefix: after `failureLimit` wrong secrets in `failureWindowMs`, that
 *   prefix's uncached keys get RESOURCE_EXHAUSTED with RetryInfo; every other
 *   collector is unaffected. A global budget (`failureGlobalLimit` failed
 *   compares per window) bounds the bcrypt work of guesses at many prefixes:
 *   failed compares per window ≤ min(failureGlobalLimit, failureLimit ×
 *   prefixes attacked), plus one successful compare per valid key per TTL.
 * - Wrong secrets are cached negatively by digest too.
 * - Revoked, unknown and malformed keys all get the same UNAUTHENTICATED
 *   message; only an expired key is told so.
 */
export class ApiKeyAuthenticator implements Authenticator {
  private readonly verified: LRUCache<string, VerifiedKey>;
  private readonly unknown: LRUCache<string, true>;
  private readonly unknownPrefixes: LRUCache<string, true> | undefined;
  private readonly pending = new Map<string, Promise<VerifiedKey | undefined>>();
  private readonly budget: AuthFailureBudget;
  private readonly logger: Logger;

  constructor(private readonly options: ApiKeyAuthenticatorOptions) {
    const max = options.cacheMax ?? 10_000;
    const ttl = Math.max(1, options.cacheTtlMs);
    this.verified = new LRUCache({ max, ttl });
    this.unknown = new LRUCache({ max: max * 10, ttl });
    const prefixes = options.unknownPrefixCacheMax ?? 100_000;
    this.unknownPrefixes = prefixes > 0 ? new LRUCache({ max: prefixes, ttl }) : undefined;
    this.budget =
      options.failureBudget ??
      new FailureBudget({
        perSubject: options.failureLimit,
        global: options.failureGlobalLimit ?? options.failureLimit * 10,
        windowMs: options.failureWindowMs,
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
    if (this.unknown.has(digest) || this.unknownPrefixes?.has(keyPrefix(key))) throw this.refuse('unknown');

    let verification = this.pending.get(digest);
    const first = verification === undefined;
    if (!verification) {
      verification = this.verify(key, digest).finally(() => this.pending.delete(digest));
      this.pending.set(digest, verification);
    }
    const result = await verification;
    if (!result) {
      if (first) this.logger.debug({ peer: peerAddress(peer) }, 'unknown API key');
      throw this.refuse('unknown');
    }
    return this.admit(result);
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

  private throttled(prefix: string, limit: FailureBudgetLimit, retryDelayMs: number): DomainError {
    this.options.metrics?.authFailure(limit === 'subject' ? 'throttled_prefix' : 'throttled_global');
    this.logger.warn({ keyPrefix: prefix, limit, retryInMs: retryDelayMs }, 'too many wrong API key secrets');
    const whose = limit === 'subject' ? "for this key's collector" : 'on this server';
    return new DomainError('resource_exhausted', `too many failed authentication attempts ${whose}, retry later`, {
      retryDelayMs,
    });
  }

  /** Looks the prefix up (no bcrypt when unknown), then compares within the prefix's failure budget. */
  private async verify(key: string, digest: string): Promise<VerifiedKey | undefined> {
    const prefix = keyPrefix(key);
    const row = await findCredentialsByPrefix(this.options.db, prefix);
    if (!row) {
      this.unknownPrefixes?.set(prefix, true);
      return undefined;
    }
    const outcome = await this.budget.reserve(prefix);
    if (outcome.kind === 'refused') throw this.throttled(prefix, outcome.limit, outcome.retryDelayMs);
    let matches: boolean;
    try {
      matches = await this.options.hasher.compare(key, row.key_hash);
    } catch (err) {
      await outcome.reservation.succeeded(); // not the caller's failure
      throw err;
    }
    if (!matches) {
      this.unknown.set(digest, true);
      return undefined;
    }
    await outcome.reservation.succeeded();
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
