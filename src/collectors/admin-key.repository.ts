import type { Kysely } from 'kysely';
import type { AdminKeyRow, DB } from '../db/schema';

export interface AdminKeyWithWorkspace extends AdminKeyRow {
  readonly workspace_slug: string | null;
}

export async function insertAdminKey(
  db: Kysely<DB>,
  values: { name: string; workspace_id: string | null; key_prefix: string; key_hash: string; expires_at: Date | null },
): Promise<string> {
  const row = await db.insertInto('admin_keys').values(values).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

function selectWithWorkspace(db: Kysely<DB>) {
  return db
    .selectFrom('admin_keys as k')
    .leftJoin('workspaces as w', 'w.id', 'k.workspace_id')
    .selectAll('k')
    .select('w.slug as workspace_slug');
}

export async function findAdminKey(db: Kysely<DB>, id: string): Promise<AdminKeyWithWorkspace | undefined> {
  return selectWithWorkspace(db).where('k.id', '=', id).executeTakeFirst();
}

export async function listAdminKeys(db: Kysely<DB>): Promise<AdminKeyWithWorkspace[]> {
  return selectWithWorkspace(db).orderBy('k.created_at').orderBy('k.id').execute();
}

export async function revokeAdminKey(db: Kysely<DB>, id: string, at: Date): Promise<void> {
  await db.updateTable('admin_keys').set({ is_active: false, revoked_at: at }).where('id', '=', id).where('is_active', '=', true).execute();
}
