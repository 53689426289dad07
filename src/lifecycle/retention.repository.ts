import type { Kysely } from 'kysely';
import type { DB } from '../db/schema';

/** Sets (or, with null, removes) how long a workspace keeps its sessions. */
export async function setWorkspaceRetention(db: Kysely<DB>, workspaceId: string, retentionMs: number | null): Promise<void> {
  await db.updateTable('workspaces').set({ retention_ms: retentionMs }).where('id', '=', workspaceId).execute();
}
