import { LRUCache } from 'lru-cache';

/**
 * Row ids of projects, developers and backing models. Those rows never change,
 * so an id is safe to reuse once the transaction that found or created it has
 * committed. Deletion (src/lifecycle/) removes rows nothing references any
 * more: a batch that then uses a cached id fails with a foreign-key violation,
 * and the ingest service clears the cache and retries it. Entries are staged per session and published by
 * the ingest service after commit (a rolled-back insert must not be cached).
 */
export class DimensionCache {
  private readonly cache: LRUCache<string, bigint>;

  constructor(max = 10_000) {
    this.cache = new LRUCache({ max });
  }

  get(key: string): bigint | undefined {
    return this.cache.get(key);
  }

  publish(entries: ReadonlyMap<string, bigint>): void {
    for (const [k, v] of entries) this.cache.set(k, v);
  }

  clear(): void {
    this.cache.clear();
  }
}

export const projectKey = (workspaceId: string, fingerprint: Buffer) => `p:${workspaceId}:${fingerprint.toString('hex')}`;
export const developerKey = (workspaceId: string, fingerprint: Buffer) =>
  `d:${workspaceId}:${fingerprint.toString('hex')}`;
export const modelKey = (provider: string, modelId: string) => `m:${provider}\u0000${modelId}`;
