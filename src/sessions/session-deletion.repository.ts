import { type Kysely, sql } from 'kysely';
import type { DB } from '../db/schema';

/** Rows deleted (or that a dry run would delete) per table of the session store. */
export interface SessionRowCounts {
  sessions?: number;
  threads?: number;
  messages?: number;
  filesTouched?: number;
  plans?: number;
  projects?: number;
  developers?: number;
  backingModels?: number;
}

/**
 * Deleting sessions and everything hanging off them. Every table that holds
 * a session's data is listed here: a table added later must be added too
 * (test/lifecycle checks which tables have a session_id column).
 */

/** Which sessions an operation deletes. */
export type SessionSelector =
  | { readonly by: 'ids'; readonly ids: readonly string[] }
  | { readonly by: 'collector'; readonly collectorId: string }
  | { readonly by: 'developer'; readonly workspaceId: string; readonly email: string }
  | { readonly by: 'workspace'; readonly workspaceId: string }
  | { readonly by: 'inactive'; readonly workspaceId: string; readonly lastActivityBeforeNs: bigint };

function where(selector: SessionSelector) {
  switch (selector.by) {
    case 'ids':
      return sql`s.id = ANY(${uuids(selector.ids)}::uuid[])`;
    case 'collector':
      return sql`s.collector_id = ${selector.collectorId}`;
    case 'developer':
      return sql`s.developer_id IN (SELECT d.id FROM developers d
        WHERE d.workspace_id = ${selector.workspaceId} AND lower(d.email) = lower(${selector.email}))`;
    case 'workspace':
      return sql`s.workspace_id = ${selector.workspaceId}`;
    case 'inactive':
      return sql`s.workspace_id = ${selector.workspaceId} AND s.last_activity_at_ns < ${selector.lastActivityBeforeNs}`;
  }
}

const uuids = (ids: readonly string[]) => `{${ids.join(',')}}`;

/**
 * Locks and returns up to `limit` sessions of the selector, oldest activity
 * first. `skipLocked`: leave sessions a concurrent ingest is writing for a
 * later round (the sweeper); otherwise wait for them.
 */
export async function lockSessions(
  db: Kysely<DB>,
  selector: SessionSelector,
  limit: number,
  skipLocked: boolean,
): Promise<string[]> {
  const result = await sql<{ id: string }>`
    SELECT s.id FROM sessions s WHERE ${where(selector)}
    ORDER BY s.last_activity_at_ns, s.id LIMIT ${limit}
    FOR UPDATE ${skipLocked ? sql`SKIP LOCKED` : sql``}`.execute(db);
  return result.rows.map((r) => r.id);
}

/** What deleting the selector's sessions would delete (for a dry run); dimension rows counted as well. */
export async function countSessionData(db: Kysely<DB>, selector: SessionSelector): Promise<SessionRowCounts> {
  const result = await sql<Record<string, string | number>>`
    WITH sel AS (SELECT s.id, s.project_id, s.developer_id, s.backing_model_id FROM sessions s WHERE ${where(selector)})
    SELECT
      (SELECT count(*) FROM sel) AS sessions,
      (SELECT count(*) FROM threads WHERE session_id IN (SELECT id FROM sel)) AS threads,
      (SELECT count(*) FROM messages WHERE session_id IN (SELECT id FROM sel)) AS messages,
      (SELECT count(*) FROM files_touched WHERE session_id IN (SELECT id FROM sel)) AS files_touched,
      (SELECT count(*) FROM plans WHERE session_id IN (SELECT id FROM sel)) AS plans,
      (SELECT count(*) FROM projects p WHERE p.id IN (SELECT project_id FROM sel)
        AND NOT EXISTS (SELECT 1 FROM sessions o WHERE o.project_id = p.id AND o.id NOT IN (SELECT id FROM sel))) AS projects,
      (SELECT count(*) FROM developers d WHERE d.id IN (SELECT developer_id FROM sel)
        AND NOT EXISTS (SELECT 1 FROM sessions o WHERE o.developer_id = d.id AND o.id NOT IN (SELECT id FROM sel))) AS developers,
      (SELECT count(*) FROM backing_models b WHERE b.id IN (SELECT backing_model_id FROM sel)
        AND NOT EXISTS (SELECT 1 FROM sessions o WHERE o.backing_model_id = b.id AND o.id NOT IN (SELECT id FROM sel))) AS backing_models
  `.execute(db);
  const r = result.rows[0];
  return {
    sessions: Number(r.sessions),
    threads: Number(r.threads),
    messages: Number(r.messages),
    filesTouched: Number(r.files_touched),
    plans: Number(r.plans),
    projects: Number(r.projects),
    developers: Number(r.developers),
    backingModels: Number(r.backing_models),
  };
}

export interface DeletedSessions {
  readonly counts: SessionRowCounts;
  /** Dimension rows the deleted sessions referenced: candidates for deleteUnreferencedDimensions. */
  readonly projectIds: bigint[];
  readonly developerIds: bigint[];
  readonly backingModelIds: bigint[];
}

/** Deletes the sessions (locked by the caller's transaction) and every row that belongs to them. */
export async function deleteSessionData(db: Kysely<DB>, ids: readonly string[]): Promise<DeletedSessions> {
  const list = uuids(ids);
  const affected = async (query: ReturnType<typeof sql>) => Number((await query.execute(db)).numAffectedRows ?? 0n);
  const filesTouched = await affected(sql`DELETE FROM files_touched WHERE session_id = ANY(${list}::uuid[])`);
  const messages = await affected(sql`DELETE FROM messages WHERE session_id = ANY(${list}::uuid[])`);
  const threads = await affected(sql`DELETE FROM threads WHERE session_id = ANY(${list}::uuid[])`);
  const plans = await affected(sql`DELETE FROM plans WHERE session_id = ANY(${list}::uuid[])`);
  const gone = await sql<{ project_id: string | null; developer_id: string | null; backing_model_id: string | null }>`
    DELETE FROM sessions WHERE id = ANY(${list}::uuid[])
    RETURNING project_id, developer_id, backing_model_id`.execute(db);
  const distinct = (values: (string | bigint | null)[]) =>
    [...new Set(values.filter((v) => v !== null).map(String))].map((v) => BigInt(v));
  return {
    counts: { sessions: gone.rows.length, threads, messages, filesTouched, plans },
    projectIds: distinct(gone.rows.map((r) => r.project_id)),
    developerIds: distinct(gone.rows.map((r) => r.developer_id)),
    backingModelIds: distinct(gone.rows.map((r) => r.backing_model_id)),
  };
}

/**
 * Deletes those of the candidate projects, developers and backing models
 * that no session references any more. A concurrent ingest that just
 * referenced one makes the statement fail with 23503 (the foreign key
 * protects it): the caller's savepoint retries with a fresh snapshot.
 */
export async function deleteUnreferencedDimensions(
  db: Kysely<DB>,
  candidates: Pick<DeletedSessions, 'projectIds' | 'developerIds' | 'backingModelIds'>,
): Promise<SessionRowCounts> {
  const ids = (values: bigint[]) => `{${values.join(',')}}`;
  const run = async (table: 'projects' | 'developers' | 'backing_models', column: string, values: bigint[]) => {
    if (values.length === 0) return 0;
    const result = await sql`
      DELETE FROM ${sql.table(table)} x WHERE x.id = ANY(${ids(values)}::bigint[])
        AND NOT EXISTS (SELECT 1 FROM sessions s WHERE ${sql.ref(`s.${column}`)} = x.id)`.execute(db);
    return Number(result.numAffectedRows ?? 0n);
  };
  return {
    projects: await run('projects', 'project_id', candidates.projectIds),
    developers: await run('developers', 'developer_id', candidates.developerIds),
    backingModels: await run('backing_models', 'backing_model_id', candidates.backingModelIds),
  };
}

/** Every project and developer of a workspace nothing references (used when the workspace goes). */
export async function workspaceDimensionIds(db: Kysely<DB>, workspaceId: string) {
  const projects = await db.selectFrom('projects').select('id').where('workspace_id', '=', workspaceId).execute();
  const developers = await db.selectFrom('developers').select('id').where('workspace_id', '=', workspaceId).execute();
  return {
    projectIds: projects.map((r) => BigInt(r.id as unknown as string)),
    developerIds: developers.map((r) => BigInt(r.id as unknown as string)),
    backingModelIds: [] as bigint[],
  };
}

