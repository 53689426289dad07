import { type Kysely, sql } from 'kysely';
import type { DB, WorkspaceRow } from '../db/schema';

export interface WorkspaceWithCount extends WorkspaceRow {
  readonly collector_count: number;
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Inserts a workspace; undefined when the slug is taken. */
export async function insertWorkspace(
  db: Kysely<DB>,
  values: { name: string; slug: string; retention_ms?: number | null },
): Promise<WorkspaceRow | undefined> {
  return db
    .insertInto('workspaces')
    .values(values)
    .onConflict((oc) => oc.column('slug').doNothing())
    .returningAll()
    .executeTakeFirst();
}

/** Finds a workspace by id (when the text is a UUID) or by slug. */
export async function findWorkspace(db: Kysely<DB>, idOrSlug: string): Promise<WorkspaceRow | undefined> {
  return db
    .selectFrom('workspaces')
    .selectAll()
    .where((eb) =>
      UUID_PATTERN.test(idOrSlug)
        ? eb.or([eb('id', '=', idOrSlug.toLowerCase()), eb('slug', '=', idOrSlug)])
        : eb('slug', '=', idOrSlug),
    )
    .executeTakeFirst();
}

export async function listWorkspaces(db: Kysely<DB>): Promise<WorkspaceWithCount[]> {
  const rows = await db
    .selectFrom('workspaces as w')
    .selectAll('w')
    .select(
      sql<number>`(SELECT count(*) FROM collectors c WHERE c.workspace_id = w.id AND c.is_active)::int`.as(
        'collector_count',
      ),
    )
    .orderBy('w.created_at')
    .orderBy('w.slug')
    .execute();
  return rows.map((r) => ({ ...r, collector_count: Number(r.collector_count) }));
}

/** The oldest workspace, for the "create your first collector" hint at start. */
export async function firstWorkspace(db: Kysely<DB>): Promise<WorkspaceRow | undefined> {
  return db.selectFrom('workspaces').selectAll().orderBy('created_at').orderBy('slug').limit(1).executeTakeFirst();
}
