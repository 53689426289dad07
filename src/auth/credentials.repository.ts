import type { Kysely } from 'kysely';
import type { DB } from '../db/schema';

/**
 * Credential lookup: the one query authentication makes. Key format and
 * hashing live next to it (api-key.ts, key-hasher.ts); collectors/ uses all
 * three to issue keys, and auth/ never imports collectors/.
 */

/** What authentication needs to know about the collector behind a key prefix. */
export interface CollectorCredentials {
  readonly id: string;
  readonly workspace_id: string;
  readonly name: string;
  readonly key_hash: string;
  readonly is_active: boolean;
  readonly expires_at: Date | null;
  readonly rate_limit_requests_per_min: number | null;
  readonly rate_limit_messages_per_min: number | null;
}

export async function findCredentialsByPrefix(db: Kysely<DB>, prefix: string): Promise<CollectorCredentials | undefined> {
  return db
    .selectFrom('collectors')
    .select([
      'id',
      'workspace_id',
      'name',
      'key_hash',
      'is_active',
      'expires_at',
      'rate_limit_requests_per_min',
      'rate_limit_messages_per_min',
    ])
    .where('key_prefix', '=', prefix)
    .executeTakeFirst();
}
