import type { Kysely } from 'kysely';
import type { DB } from '../db/schema';

/** What authentication needs to know about the admin key behind a prefix. */
export interface AdminKeyCredentials {
  readonly id: string;
  readonly name: string;
  readonly workspace_id: string | null;
  readonly key_hash: string;
  readonly is_active: boolean;
  readonly expires_at: Date | null;
}

export async function findAdminCredentialsByPrefix(db: Kysely<DB>, prefix: string): Promise<AdminKeyCredentials | undefined> {
  return db
    .selectFrom('admin_keys')
    .select(['id', 'name', 'workspace_id', 'key_hash', 'is_active', 'expires_at'])
    .where('key_prefix', '=', prefix)
    .executeTakeFirst();
}
