import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config/config';
import type { Database } from '../db/database';
import type { DB } from '../db/schema';
import { DomainError } from '../errors/domain-error';
import type { Logger } from '../logging/logger';
import {
  type BatchKey,
  claimOrFind,
  completeBatch,
  deleteIfExpired,
  heartbeatBatch,
  purgeExpiredBatches,
  releaseBatch,
  takeOverBatch,
} from './batch.repository';

export interface IdempotencySettings {
  readonly ttlMs: number;
  /** How long a duplicate call waits for the owner before ABORTED. */
  readonly waitMs: number;
  /** Heartbeat age after which an in_progress batch may be taken over. */
  readonly staleMs: number;
  /** RetryInfo delay of ABORTED (the batch is held by another call). */
  readonly retryDelayMs: number;
}

/** This call owns the batch: it ingests, then completes (or releases) it. */
export interface OwnedBatch {
  readonly kind: 'owned';
  /** Stores the response in the ingest transaction; throws ABORTED if the batch was taken over. */
  complete(trx: Kysely<DB>, requestHash: Buffer, response: Buffer): Promise<void>;
  /** Deletes the in_progress row (the work failed) and stops the heartbeat. */
  release(): Promise<void>;
  /** Stops the heartbeat (after a successful commit). */
  finish(): void;
}

/** The batch already finished: the stored response and the hash of its request. */
export interface FinishedBatch {
  readonly kind: 'done';
  readonly requestHash: Buffer;
  readonly response: Buffer;
  /**
   * Wire-bytes digest of a request known to carry this payload (in memory
   * only): a replay with the same bytes skips the canonical hash.
   */
  wireDigest?: Buffer;
}

export type BatchClaim = OwnedBatch | FinishedBatch;

export const payloadMismatch = (batchId: string) =>
  new DomainError(
    'already_exists',
    `batch_id ${JSON.stringify(batchId)} was already used with a different payload; use a new batch_id for new data`,
  );

const POLL_MS = 50;
const EMPTY = Buffer.alloc(0);
/** Memory the replay cache may use. */
const REPLAY_CACHE_BYTES = 16 * 1024 * 1024;
/**
 * What an entry costs beyond its response bytes: two digest Buffers, the
 * key, the record and the LRU's slots. Measured at about 4.5 KB of RSS per
 * entry with a 0.9 KB response; counting only the bytes let a "32 MiB"
 * cache grow to well over 100 MB (bench/README.md, Memory).
 */
const ENTRY_OVERHEAD_BYTES = 3584;
const cacheKey = (key: BatchKey) => `${key.workspaceId}\u0000${key.batchId}`;

/**
 * batch_id idempotency backed by ingest_batches, so every replica sees it.
 * Exactly one call ingests a (workspace, batch_id): the one whose insert of
 * the in_progress row succeeds (or that takes over a dead owner's row).
 */
export class IdempotencyService {
  private readonly logger: Logger;
  /**
   * Finished batches seen by this process. A finished record never changes
   * before it expires, so replays can skip the database; entries expire with it.
   */
  private readonly responses = new LRUCache<string, FinishedBatch>({
    maxSize: REPLAY_CACHE_BYTES,
    sizeCalculation: (v) => v.response.length + ENTRY_OVERHEAD_BYTES,
  });

  constructor(
    private readonly db: Kysely<DB>,
    private readonly settings: IdempotencySettings,
    logger: Logger,
  ) {
    this.logger = logger.child({ component: 'idempotency' });
  }

  /** Whether this process has the batch's response cached (a call for it is likely a resend). */
  holds(key: BatchKey): boolean {
    return this.responses.has(cacheKey(key));
  }

  /**
   * The stored response when this process has the batch cached and `wireDigest`
   * is that of a request already known to carry its payload: an exact resend.
   * Undefined otherwise; acquire() then decides with the canonical hash.
   */
  replayOf(key: BatchKey, wireDigest: Buffer | undefined): FinishedBatch | undefined {
    if (!wireDigest) return undefined;
    const cached = this.responses.get(cacheKey(key));
    return cached?.wireDigest?.equals(wireDigest) ? cached : undefined;
  }

  /**
   * Claims the batch or finds its stored response. `requestHash` is known for
   * unary calls (a mismatch is refused at once); a stream passes undefined and
   * compares once it has read everything.
   */
  async acquire(
    key: BatchKey,
    requestHash: Buffer | undefined,
    signal?: AbortSignal,
    /** Digest of the request's wire bytes (unary resends), remembered for replayOf(). */
    wireDigest?: Buffer,
  ): Promise<BatchClaim> {
    const owner = randomUUID();
    const deadline = Date.now() + this.settings.waitMs;
    for (;;) {
      const cached = this.responses.get(cacheKey(key));
      if (cached) {
        if (requestHash && !requestHash.equals(cached.requestHash)) throw payloadMismatch(key.batchId);
        if (requestHash && wireDigest) cached.wireDigest = wireDigest;
        return cached;
      }
      const seen = await claimOrFind(this.db, key, requestHash ?? EMPTY, owner, this.settings.ttlMs, this.settings.staleMs);
      if (seen.kind === 'claimed') return this.owned(key, owner);
      const row = seen.record;
      if (!row) continue;
      if (row.expired) {
        await deleteIfExpired(this.db, key);
        continue;
      }
      if (row.state === 'done' && row.response) {
        const done: FinishedBatch = { kind: 'done', requestHash: row.request_hash, response: row.response };
        this.remember(key, done, row.remaining_ms);
        if (requestHash && !requestHash.equals(row.request_hash)) throw payloadMismatch(key.batchId);
        return done;
      }
      if (requestHash && row.request_hash.length > 0 && !requestHash.equals(row.request_hash)) {
        throw payloadMismatch(key.batchId);
      }
      if (row.stale && (await takeOverBatch(this.db, key, row.owner, owner, this.settings.staleMs))) {
        this.logger.warn({ batchId: key.batchId, previousOwner: row.owner }, 'took over a stale in-progress batch');
        return this.owned(key, owner);
      }
      if (Date.now() >= deadline || signal?.aborted) {
        throw new DomainError('aborted', 'batch in progress, retry', { retryDelayMs: this.settings.retryDelayMs });
      }
      await sleep(POLL_MS);
    }
  }

  private remember(key: BatchKey, done: FinishedBatch, remainingMs: number): void {
    const ttl = Math.floor(Math.min(remainingMs, this.settings.ttlMs));
    if (ttl >= 1 && done.response.length <= REPLAY_CACHE_BYTES / 16) this.responses.set(cacheKey(key), done, { ttl });
  }

  private owned(key: BatchKey, owner: string): OwnedBatch {
    let completed: FinishedBatch | undefined;
    const every = Math.max(50, Math.floor(this.settings.staleMs / 3));
    const timer = setInterval(() => {
      heartbeatBatch(this.db, key, owner).catch((err) =>
        this.logger.warn({ err: String(err), batchId: key.batchId }, 'batch heartbeat failed'),
      );
    }, every);
    timer.unref();
    return {
      kind: 'owned',
      complete: async (trx, requestHash, response) => {
        if (!(await completeBatch(trx, key, owner, requestHash, response, this.settings.ttlMs))) {
          throw new DomainError('aborted', 'batch was taken over by another call, retry', {
            retryDelayMs: this.settings.retryDelayMs,
          });
        }
        completed = { kind: 'done', requestHash, response };
      },
      release: async () => {
        completed = undefined;
        clearInterval(timer);
        try {
          await releaseBatch(this.db, key, owner);
        } catch (err) {
          // The database is likely down; the row goes stale and is taken over later.
          this.logger.warn({ err: String(err), batchId: key.batchId }, 'could not release an in-progress batch');
        }
      },
      finish: () => {
        clearInterval(timer);
        // Committed: later replays of this batch need no database round trip.
        if (completed) this.remember(key, completed, this.settings.ttlMs);
      },
    };
  }

  /** Deletes expired records now; returns how many. */
  purgeExpired(): Promise<number> {
    return purgeExpiredBatches(this.db);
  }

  /** Purges expired records every `intervalMs` in the background; returns the stopper. */
  startPurging(intervalMs: number): () => void {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      this.purgeExpired()
        .then((n) => n > 0 && this.logger.info({ purged: n }, 'expired batch records purged'))
        .catch((err) => this.logger.warn({ err: String(err) }, 'purging batch records failed'))
        .finally(() => {
          running = false;
        });
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The idempotency store for a database, configured from Config.ingest. */
export function createIdempotencyService(config: Config, database: Database, deps: { readonly logger: Logger }) {
  return new IdempotencyService(
    database.db,
    {
      ttlMs: config.ingest.idempotencyTtlMs,
      waitMs: config.ingest.idempotencyWaitMs,
      staleMs: config.ingest.idempotencyStaleMs,
      retryDelayMs: config.ingest.idempotencyRetryDelayMs,
    },
    deps.logger,
  );
}
