import { createHash, type Hash, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import type { DB } from '../db/schema';
import { DomainError } from '../errors';
import type { Logger } from '../logging/logger';
import { Session } from '../../generated/catsyphon/telemetry/v1/sessions';
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

/**
 * SHA-256 over each session's canonical encoding, length-prefixed: the same
 * for unary and stream, however chunked, and whatever order the client wrote
 * map entries in (Go and prost re-marshal maps in random order, so a retry
 * of the same batch may differ byte for byte).
 */
export class SessionHasher {
  private readonly hash: Hash = createHash('sha256');
  /** Encoded size of the sessions added so far. */
  bytes = 0;

  add(session: Session): void {
    const bytes = Session.encode(withSortedMaps(session)).finish();
    this.bytes += bytes.length;
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(bytes.length);
    this.hash.update(len).update(bytes);
  }

  private result: Buffer | undefined;

  /** The digest of everything added; the same Buffer on every call (a retried transaction asks again). */
  digest(): Buffer {
    this.result ??= this.hash.digest();
    return this.result;
  }
}

type StringMap = { [key: string]: string };

/** The map with its entries in sorted key order (itself when already so). */
function sortedMap(map: StringMap): StringMap {
  const keys = Object.keys(map);
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) sorted = keys[i - 1] < keys[i];
  if (sorted) return map;
  // Null prototype: a "__proto__" key stays an ordinary entry.
  const out: StringMap = Object.create(null) as StringMap;
  for (const key of keys.sort()) out[key] = map[key];
  return out;
}

/** A shallow copy of the session whose map fields iterate in key order; the input is not changed. */
function withSortedMaps(s: Session): Session {
  return {
    ...s,
    metadata: sortedMap(s.metadata),
    project: s.project && { ...s.project, metadata: sortedMap(s.project.metadata) },
    developer: s.developer && { ...s.developer, metadata: sortedMap(s.developer.metadata) },
    threads: s.threads.map((t) => ({
      ...t,
      metadata: sortedMap(t.metadata),
      messages: t.messages.map((m) => {
        const metadata = sortedMap(m.metadata);
        return metadata === m.metadata ? m : { ...m, metadata };
      }),
    })),
  };
}

export function hashSessions(sessions: readonly Session[]): Buffer {
  const h = new SessionHasher();
  for (const s of sessions) h.add(s);
  return h.digest();
}

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
      if (seen.claimed) return this.owned(key, owner);
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
        throw new DomainError('aborted', 'batch in progress, retry', { retryDelayMs: 1000 });
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
          throw new DomainError('aborted', 'batch was taken over by another call, retry', { retryDelayMs: 1000 });
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
