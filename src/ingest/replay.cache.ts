import { LRUCache } from 'lru-cache';
import type { BatchKey } from './batch.repository';

export interface CachedBatch {
  readonly requestHash: Buffer;
  readonly response: Buffer;
}

/**
 * Responses of batches this process completed, so that a retry landing here
 * replays without a database round trip. The database record stays the
 * source of truth (other replicas, restarts); an entry never outlives it,
 * because it expires at the record's own expiry.
 */
export class ReplayCache {
  private readonly entries: LRUCache<string, CachedBatch>;

  constructor(maxBytes = 16 * 1024 * 1024) {
    this.entries = new LRUCache<string, CachedBatch>({
      maxSize: maxBytes,
      sizeCalculation: (v, k) => v.response.length + v.requestHash.length + k.length + 64,
    });
  }

  get(key: BatchKey): CachedBatch | undefined {
    return this.entries.get(cacheKey(key));
  }

  /** Keeps a completed batch for `ttlMs` (what is left of its record's TTL). */
  set(key: BatchKey, batch: CachedBatch, ttlMs: number): void {
    if (ttlMs > 0) this.entries.set(cacheKey(key), batch, { ttl: ttlMs });
  }
}

const cacheKey = (key: BatchKey) => `${key.workspaceId}\u0000${key.batchId}`;
