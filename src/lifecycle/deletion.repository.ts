import { type Kysely, sql } from 'kysely';
import type { DB } from '../db/schema';
import type { DeletionCounts } from './lifecycle-api';

/** Rows outside the session store that deletions and the retention sweeper touch. */

export async function deleteWorkspaceRows(db: Kysely<DB>, workspaceId: string): Promise<Partial<DeletionCounts>> {
  const batches = await db.deleteFrom('ingest_batches').where('workspace_id', '=', workspaceId).executeTakeFirst();
  const collectors = await db.deleteFrom('collectors').where('workspace_id', '=', workspaceId).executeTakeFirst();
  const workspaces = await db.deleteFrom('workspaces').where('id', '=', workspaceId).executeTakeFirst();
  return {
    idempotencyRecords: Number(batches.numDeletedRows),
    collectors: Number(collectors.numDeletedRows),
    workspaces: Number(workspaces.numDeletedRows),
  };
}

export async function deleteCollectorRow(db: Kysely<DB>, collectorId: string): Promise<number> {
  const result = await db.deleteFrom('collectors').where('id', '=', collectorId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Workspaces with a retention, and the activity cutoff (ns) each implies at the database's now(). */
export async function retentionCutoffs(db: Kysely<DB>): Promise<{ id: string; slug: string; cutoffNs: bigint }[]> {
  const result = await sql<{ id: string; slug: string; cutoff_ns: string }>`
    SELECT id, slug,
      ((extract(epoch FROM now()) * 1000 - retention_ms)::numeric * 1000000)::bigint::text AS cutoff_ns
    FROM workspaces WHERE retention_ms IS NOT NULL ORDER BY id`.execute(db);
  return result.rows.map((r) => ({ id: r.id, slug: r.slug, cutoffNs: BigInt(r.cutoff_ns) }));
}

/** Takes the retention sweeper's transaction-scoped advisory lock; false when another replica holds it. */
export async function tryRetentionLock(db: Kysely<DB>): Promise<boolean> {
  const result = await sql<{ locked: boolean }>`SELECT pg_try_advisory_xact_lock(${RETENTION_LOCK_KEY}::bigint) AS locked`.execute(db);
  return result.rows[0]?.locked === true;
}

/** An arbitrary constant naming the retention sweeper's advisory lock. */
const RETENTION_LOCK_KEY = '7172837156049322515';
