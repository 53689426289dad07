import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { DB } from '../db/schema';
import { DomainError, permissionDenied, unauthenticated } from '../errors/domain-error';
import type { AdminCaller } from '../identity/admin-caller';
import type { Authenticator, RequestHeaders } from '../identity/caller';
import type { Logger } from '../logging/logger';
import type { Clock } from '../util/clock';
import { type AdminKeyCredentials, findAdminCredentialsByPrefix } from './admin-credentials.repository';
import { adminKeyPrefix, isWellFormedAdminKey } from './admin-key';
import { isWellFormedApiKey, keyDigest } from './api-key';
import type { KeyHasher } from './key-hasher';

export interface AdminKeyAuthenticatorOptions {
  readonly db: Kysely<DB>;
  readonly hasher: KeyHasher;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long a verified (or unknown) key is trusted without asking the database again (AUTH_CACHE_TTL_MS). */
  readonly cacheTtlMs: number;
  /** Failed verifications per key prefix per window before that prefix is throttled (AUTH_FAILURE_LIMIT). */
  readonly failureLimit: number;
  readonly failureWindowMs: number;
  readonly cacheMax?: number;
}

interface VerifiedAdminKey {
  readonly caller: AdminCaller;
  readonly active: boolean;
  readonly expiresAtMs: number | null;
}

const BEARER = /^Bearer +(\S+)$/i;

/** The bearer token of a call, or undefined when there is no single `authorization: Bearer` header. */
export function bearerToken(headers: RequestHeaders): string | undefined {
  const values = headers.get('authorization');
  if (values.length !== 1 || typeof values[0] !== 'string') return undefined;
  return BEARER.exec(values[0].trim())?.[1];
}

/**
 * Authenticates `authorization: Bearer cs_admin_…` against admin_keys, the
 * way collector keys are authenticated:
 *
 * - verified and unknown keys are cached by SHA-256 for `cacheTtlMs`;
 *   `forgetKey` drops a revoked key at once on this replica;
 * - a key whose prefix is not in the table costs one indexed lookup and no
 *   bcrypt;
 * - failed bcrypt compares are budgeted per key prefix (`failureLimit` per
 *   window, then RESOURCE_EXHAUSTED with a retry delay). A key that was
 *   verified before is never throttled, so a flood of wrong keys under a
 *   known prefix cannot lock its owner out;
 * - a collector key (`cs_live_…`) gets PERMISSION_DENIED: it is a valid kind
 *   of credential, just not for this service.
 */
export class AdminKeyAuthenticator {
  private readonly verified: LRUCache<string, VerifiedAdminKey>;
  private readonly unknown: LRUCache<string, true>;
  /** Digests of keys that once verified: exempt from the failure budget (bounded, no TTL). */
  private readonly knownGood: LRUCache<string, true>;
  private readonly failures: RateLimiterMemory;
  private readonly logger: Logger;

  constructor(private readonly options: AdminKeyAuthenticatorOptions) {
    const max = options.cacheMax ?? 1_000;
    const ttl = Math.max(1, options.cacheTtlMs);
    this.verified = new LRUCache({ max, ttl });
    this.unknown = new LRUCache({ max: max * 10, ttl });
    this.knownGood = new LRUCache({ max });
    this.failures = new RateLimiterMemory({
      points: options.failureLimit,
      duration: Math.max(1, Math.ceil(options.failureWindowMs / 1000)),
    });
    this.logger = options.logger.child({ component: 'admin-auth' });
  }

  async authenticate(headers: RequestHeaders): Promise<AdminCaller> {
    const token = bearerToken(headers);
    if (token === undefined) throw unauthenticated('an admin key is required: authorization: Bearer cs_admin_…');
    if (isWellFormedApiKey(token)) {
      throw permissionDenied('a collector key cannot use the admin service; use an admin key (cs_admin_…)');
    }
    if (!isWellFormedAdminKey(token)) throw unauthenticated('invalid admin key');
    const digest = keyDigest(token);
    const cached = this.verified.get(digest);
    if (cached) return this.admit(cached);
    if (this.unknown.has(digest)) throw unauthenticated('invalid admin key');

    const prefix = adminKeyPrefix(token);
    const row = await findAdminCredentialsByPrefix(this.options.db, prefix);
    if (!row) {
      this.unknown.set(digest, true);
      throw unauthenticated('invalid admin key');
    }
    const budgeted = !this.knownGood.has(digest);
    if (budgeted) await this.reserveAttempt(prefix);
    if (!(await this.options.hasher.compare(token, row.key_hash))) {
      this.unknown.set(digest, true);
      this.logger.warn({ keyPrefix: prefix }, 'wrong admin key for a known prefix');
      throw unauthenticated('invalid admin key');
    }
    if (budgeted) await this.failures.reward(prefix, 1);
    const entry = toVerified(row);
    this.verified.set(digest, entry);
    this.knownGood.set(digest, true);
    return this.admit(entry);
  }

  /** Forgets cached verifications of an admin key (called when it is revoked on this replica). */
  forgetKey(keyId: string): void {
    for (const [digest, entry] of this.verified.entries()) {
      if (entry.caller.keyId === keyId) this.verified.delete(digest);
    }
  }

  private admit(entry: VerifiedAdminKey): AdminCaller {
    if (!entry.active) throw unauthenticated('invalid admin key');
    if (entry.expiresAtMs !== null && entry.expiresAtMs <= this.options.clock.now()) {
      throw unauthenticated('admin key has expired');
    }
    return entry.caller;
  }

  private async reserveAttempt(prefix: string): Promise<void> {
    try {
      await this.failures.consume(prefix, 1);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      this.logger.warn({ keyPrefix: prefix, retryInMs: err.msBeforeNext }, 'too many failed admin authentications');
      throw new DomainError('resource_exhausted', 'too many failed authentication attempts, retry later', {
        retryDelayMs: err.msBeforeNext,
      });
    }
  }
}

function toVerified(row: AdminKeyCredentials): VerifiedAdminKey {
  return {
    caller: { keyId: row.id, keyName: row.name, workspaceId: row.workspace_id },
    active: row.is_active,
    expiresAtMs: row.expires_at === null ? null : new Date(row.expires_at).getTime(),
  };
}

/**
 * Wraps the collector authenticator of the ingestion services: an admin key
 * gets PERMISSION_DENIED (it administers, it does not ingest) instead of
 * being treated as a malformed collector key.
 */
export function refusingAdminKeys(inner: Authenticator): Authenticator {
  return {
    authenticate: async (headers, peer) => {
      const token = bearerToken(headers);
      if (token !== undefined && isWellFormedAdminKey(token)) {
        throw permissionDenied('an admin key cannot ingest or read sessions; use a collector key (cs_live_…)');
      }
      return inner.authenticate(headers, peer);
    },
  };
}
