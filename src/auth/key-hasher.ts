import bcrypt from 'bcrypt';

/**
 * Hashes and verifies API keys. bcrypt in production; tests wrap it to count
 * compares (the expensive part: ~45 ms at cost 10).
 */
export interface KeyHasher {
  hash(key: string): Promise<string>;
  compare(key: string, hash: string): Promise<boolean>;
}

export function bcryptKeyHasher(cost: number): KeyHasher {
  return {
    hash: (key) => bcrypt.hash(key, cost),
    compare: async (key, hash) => {
      // A malformed stored hash (e.g. a row written by hand) is a mismatch, not a crash.
      try {
        return await bcrypt.compare(key, hash);
      } catch {
        return false;
      }
    },
  };
}
