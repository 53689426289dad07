import { type Kysely, sql } from 'kysely';
import type { DB } from '../db/schema';

/** Stored sessions as the operator lists them: one row per session with its counts. */

export interface SessionCatalogFilter {
  readonly workspaceId?: string;
  readonly collectorId?: string;
  /** Sessions whose last activity is at or after this (ns since the epoch). */
  readonly activeSinceNs?: bigint;
  readonly assistant?: number;
  readonly ids?: readonly string[];
  readonly sourceSessionId?: string;
  readonly limit: number;
}

export interface SessionCatalogRow {
  readonly id: string;
  readonly workspace_id: string;
  readonly workspace_slug: string;
  readonly assistant: number;
  readonly source_session_id: string;
  readonly collector_id: string | null;
  readonly collector_name: string | null;
  readonly project_name: string | null;
  readonly project_path: string | null;
  readonly developer_username: string | null;
  readonly developer_email: string | null;
  readonly threads: number;
  readonly messages: number;
  readonly started_at_ns: bigint;
  readonly last_activity_at_ns: bigint;
}

/** Most recently active first. */
export async function listSessionCatalog(db: Kysely<DB>, filter: SessionCatalogFilter): Promise<SessionCatalogRow[]> {
  let query = db
    .selectFrom('sessions as s')
    .innerJoin('workspaces as w', 'w.id', 's.workspace_id')
    .leftJoin('collectors as c', 'c.id', 's.collector_id')
    .leftJoin('projects as p', 'p.id', 's.project_id')
    .leftJoin('developers as d', 'd.id', 's.developer_id')
    .select([
      's.id',
      's.workspace_id',
      'w.slug as workspace_slug',
      's.assistant',
      's.source_session_id',
      's.collector_id',
      'c.name as collector_name',
      'p.name as project_name',
      'p.path as project_path',
      'd.username as developer_username',
      'd.email as developer_email',
      's.started_at_ns',
      's.last_activity_at_ns',
      sql<number>`(SELECT count(*) FROM threads t WHERE t.session_id = s.id)::int`.as('threads'),
      sql<number>`(SELECT count(*) FROM messages m WHERE m.session_id = s.id)::int`.as('messages'),
    ]);
  if (filter.workspaceId) query = query.where('s.workspace_id', '=', filter.workspaceId);
  if (filter.collectorId) query = query.where('s.collector_id', '=', filter.collectorId);
  if (filter.activeSinceNs !== undefined) query = query.where('s.last_activity_at_ns', '>=', filter.activeSinceNs);
  if (filter.assistant !== undefined) query = query.where('s.assistant', '=', filter.assistant);
  if (filter.ids) query = query.where('s.id', 'in', filter.ids.length > 0 ? [...filter.ids] : ['00000000-0000-0000-0000-000000000000']);
  if (filter.sourceSessionId !== undefined) query = query.where('s.source_session_id', '=', filter.sourceSessionId);
  const rows = await query.orderBy('s.last_activity_at_ns', 'desc').orderBy('s.id').limit(filter.limit).execute();
  return rows.map((r) => ({
    ...r,
    threads: Number(r.threads),
    messages: Number(r.messages),
    started_at_ns: BigInt(r.started_at_ns),
    last_activity_at_ns: BigInt(r.last_activity_at_ns),
  }));
}

/** The whole session row, for readSession. */
export async function sessionRowById(db: Kysely<DB>, id: string) {
  return db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
}
