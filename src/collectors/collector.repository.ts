import { type Kysely, sql } from 'kysely';
import type { CollectorRow, CollectorUpdate, DB, NewCollector } from '../db/schema';
import { UUID_PATTERN } from './workspace.repository';

/** A collector row with its workspace's slug, as the CLI shows it. */
export interface CollectorWithWorkspace extends CollectorRow {
  readonly workspace_slug: string;
}

export async function insertCollector(db: Kysely<DB>, values: NewCollector): Promise<CollectorRow> {
  return db.insertInto('collectors').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function findCollector(db: Kysely<DB>, id: string): Promise<CollectorWithWorkspace | undefined> {
  if (!UUID_PATTERN.test(id)) return undefined;
  return db
    .selectFrom('collectors as c')
    .innerJoin('workspaces as w', 'w.id', 'c.workspace_id')
    .selectAll('c')
    .select('w.slug as workspace_slug')
    .where('c.id', '=', id.toLowerCase())
    .executeTakeFirst();
}

export async function listCollectors(db: Kysely<DB>, workspaceId?: string): Promise<CollectorWithWorkspace[]> {
  let query = db
    .selectFrom('collectors as c')
    .innerJoin('workspaces as w', 'w.id', 'c.workspace_id')
    .selectAll('c')
    .select('w.slug as workspace_slug');
  if (workspaceId !== undefined) query = query.where('c.workspace_id', '=', workspaceId);
  return query.orderBy('w.slug').orderBy('c.created_at').orderBy('c.id').execute();
}

export type CollectorPatch = Pick<
  CollectorUpdate,
  | 'name'
  | 'expires_at'
  | 'is_active'
  | 'revoked_at'
  | 'key_prefix'
  | 'key_hash'
  | 'rate_limit_requests_per_min'
  | 'rate_limit_messages_per_min'
>;

/** Applies a change and bumps updated_at; returns false when no such collector exists. */
export async function updateCollector(db: Kysely<DB>, id: string, patch: CollectorPatch): Promise<boolean> {
  const result = await db
    .updateTable('collectors')
    .set({ ...patch, updated_at: sql`now()` })
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Records activity; empty hostname or version keep the stored value. */
export async function recordCollectorSeen(
  db: Kysely<DB>,
  id: string,
  seen: { at: Date; hostname: string; version: string },
): Promise<void> {
  await db
    .updateTable('collectors')
    .set((eb) => ({
      last_seen_at: seen.at,
      hostname: seen.hostname === '' ? eb.ref('hostname') : seen.hostname,
      version: seen.version === '' ? eb.ref('version') : seen.version,
    }))
    .where('id', '=', id)
    .execute();
}

export async function countCollectors(db: Kysely<DB>): Promise<number> {
  const row = await db
    .selectFrom('collectors')
    .select((eb) => eb.fn.countAll<string | number | bigint>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
