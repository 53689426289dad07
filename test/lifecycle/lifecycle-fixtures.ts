import { sql, type Kysely } from 'kysely';
import type { DB } from '../../src/db/schema';
import { FileChangeType, PlanStatus, type Session } from '../../generated/catsyphon/telemetry/v1/sessions';
import { makeSession } from '../helpers/session-factory';

/** A session with a developer, a file touched and a plan: rows in every table a session owns. */
export function richSession(id: string, opts: { email?: string; project?: string } = {}): Session {
  const s = makeSession(id, 4);
  s.developer = { username: (opts.email ?? 'dev@example.com').split('@')[0], email: opts.email ?? 'dev@example.com', metadata: {} };
  s.project = { path: `/src/${opts.project ?? 'demo'}`, name: opts.project ?? 'demo', metadata: {} };
  s.threads[0].messages[1].filesTouched = [
    { path: 'src/a.ts', changeType: FileChangeType.FILE_CHANGE_TYPE_MODIFIED, linesAdded: 3, linesDeleted: 1, timestampNs: s.startedAtNs },
  ];
  s.plans = [{ id: `plan-${id}`, path: '~/.claude/plans/p.md', title: 'A plan', status: PlanStatus.PLAN_STATUS_ACTIVE, content: 'step 1', createdAtNs: s.startedAtNs }];
  return s;
}

export interface TableCounts {
  sessions: number;
  threads: number;
  messages: number;
  files_touched: number;
  plans: number;
  projects: number;
  developers: number;
  backing_models: number;
}

/** Row counts of every table a session's data lives in (optionally of one workspace). */
export async function tableCounts(db: Kysely<DB>, workspaceId?: string): Promise<TableCounts> {
  const ws = workspaceId === undefined ? sql`true` : sql`s.workspace_id = ${workspaceId}`;
  const own = workspaceId === undefined ? sql`true` : sql`workspace_id = ${workspaceId}`;
  const r = await sql<Record<keyof TableCounts, string>>`SELECT
    (SELECT count(*) FROM sessions s WHERE ${ws}) AS sessions,
    (SELECT count(*) FROM threads t JOIN sessions s ON s.id = t.session_id WHERE ${ws}) AS threads,
    (SELECT count(*) FROM messages m JOIN sessions s ON s.id = m.session_id WHERE ${ws}) AS messages,
    (SELECT count(*) FROM files_touched f JOIN sessions s ON s.id = f.session_id WHERE ${ws}) AS files_touched,
    (SELECT count(*) FROM plans p JOIN sessions s ON s.id = p.session_id WHERE ${ws}) AS plans,
    (SELECT count(*) FROM projects WHERE ${own}) AS projects,
    (SELECT count(*) FROM developers WHERE ${own}) AS developers,
    (SELECT count(*) FROM backing_models) AS backing_models`.execute(db);
  return Object.fromEntries(Object.entries(r.rows[0]).map(([k, v]) => [k, Number(v)])) as unknown as TableCounts;
}

/** Rows that belong to no session, and dimension rows nothing references: all must be 0 after a deletion. */
export async function orphanCounts(db: Kysely<DB>): Promise<Record<string, number>> {
  const r = await sql<Record<string, string>>`SELECT
    (SELECT count(*) FROM threads t WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = t.session_id)) AS threads,
    (SELECT count(*) FROM messages m WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = m.session_id)) AS messages,
    (SELECT count(*) FROM files_touched f WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = f.session_id)) AS files_touched,
    (SELECT count(*) FROM plans p WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = p.session_id)) AS plans,
    (SELECT count(*) FROM projects x WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.project_id = x.id)) AS projects,
    (SELECT count(*) FROM developers x WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.developer_id = x.id)) AS developers,
    (SELECT count(*) FROM backing_models x WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.backing_model_id = x.id)) AS backing_models
  `.execute(db);
  return Object.fromEntries(Object.entries(r.rows[0]).map(([k, v]) => [k, Number(v)]));
}

/** The session tables must list every table with a session_id column: a new one needs deleting too. */
export async function tablesWithSessionId(db: Kysely<DB>): Promise<string[]> {
  const r = await sql<{ table_name: string }>`
    SELECT table_name FROM information_schema.columns
    WHERE column_name = 'session_id' AND table_schema = current_schema() ORDER BY table_name`.execute(db);
  return r.rows.map((x) => x.table_name);
}
