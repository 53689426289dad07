import { type Insertable, type Kysely, sql } from 'kysely';
import { chunked } from './chunks';
import type { DB, SessionRow, SessionsTable } from '../db/schema';
import type { SessionFields } from './session.mapper';

export interface SessionKey {
  readonly workspaceId: string;
  readonly assistant: number;
  readonly sourceSessionId: string;
}

export interface SessionRefs {
  project_id: bigint | null;
  developer_id: bigint | null;
  backing_model_id: bigint | null;
}

/** Inserts a new session; undefined when (workspace, assistant, id) already exists. */
export async function insertSessionIfAbsent(
  db: Kysely<DB>,
  key: SessionKey,
  collectorId: string,
  refs: SessionRefs,
  fields: SessionFields,
): Promise<string | undefined> {
  const row = await db
    .insertInto('sessions')
    .values({
      workspace_id: key.workspaceId,
      assistant: key.assistant,
      source_session_id: key.sourceSessionId,
      collector_id: collectorId,
      ...refs,
      ...fields,
    })
    .onConflict((oc) => oc.columns(['workspace_id', 'assistant', 'source_session_id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return row?.id;
}

export type NewSessionRow = Insertable<SessionsTable>;

/**
 * Inserts new sessions in one statement per 2,000; returns the ids of those
 * inserted by `${assistant}\u0000${source_session_id}` (existing ones are skipped).
 */
export async function insertSessionsIfAbsent(db: Kysely<DB>, rows: readonly NewSessionRow[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const chunk of chunked(rows, 2000)) {
    const returned = await db
      .insertInto('sessions')
      .values(chunk)
      .onConflict((oc) => oc.columns(['workspace_id', 'assistant', 'source_session_id']).doNothing())
      .returning(['id', 'assistant', 'source_session_id'])
      .execute();
    for (const r of returned) ids.set(`${r.assistant}\u0000${r.source_session_id}`, r.id);
  }
  return ids;
}

/** A stored thread as the ingest service needs it to merge a new export. */
export interface StoredThread {
  id: string;
  source_thread_id: string;
  parent_thread_id: string | null;
  type: number;
  spawned_by_message_id: string | null;
  started_at_ns: string;
  ended_at_ns: string | null;
  last_activity_at_ns: string;
  metadata: { [key: string]: string };
  max_seq: number | null;
  message_count: number;
}

export type LockedSession = SessionRow & { threads: StoredThread[] };

/**
 * Locks an existing session row and returns it with its threads and, per
 * thread, the highest seq and message count: one round trip.
 */
export async function lockSessionWithThreads(db: Kysely<DB>, key: SessionKey): Promise<LockedSession | undefined> {
  const result = await sql<SessionRow & { threads: unknown }>`
    SELECT s.*,
      (SELECT coalesce(json_agg(json_build_object(
          'id', t.id::text,
          'source_thread_id', t.source_thread_id,
          'parent_thread_id', t.parent_thread_id,
          'type', t.type,
          'spawned_by_message_id', t.spawned_by_message_id,
          'started_at_ns', t.started_at_ns::text,
          'ended_at_ns', t.ended_at_ns::text,
          'last_activity_at_ns', t.last_activity_at_ns::text,
          'metadata', t.metadata,
          'max_seq', st.max_seq,
          'message_count', coalesce(st.message_count, 0)) ORDER BY t.id), '[]'::json)
        FROM threads t
        LEFT JOIN LATERAL (
          SELECT max(m.seq) AS max_seq, count(*) AS message_count FROM messages m WHERE m.thread_id = t.id
        ) st ON true
        WHERE t.session_id = s.id) AS threads
    FROM sessions s
    WHERE s.workspace_id = ${key.workspaceId} AND s.assistant = ${key.assistant}
      AND s.source_session_id = ${key.sourceSessionId}
    FOR UPDATE OF s`.execute(db);
  const row = result.rows[0];
  if (!row) return undefined;
  const threads = (typeof row.threads === 'string' ? JSON.parse(row.threads) : row.threads) as StoredThread[];
  return { ...row, threads };
}

export async function updateSession(
  db: Kysely<DB>,
  id: string,
  collectorId: string,
  refs: SessionRefs,
  fields: SessionFields,
): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ ...refs, ...fields, collector_id: collectorId, updated_at: sql<Date>`now()` as never })
    .where('id', '=', id)
    .execute();
}

export async function findSession(db: Kysely<DB>, key: SessionKey): Promise<SessionRow | undefined> {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('workspace_id', '=', key.workspaceId)
    .where('assistant', '=', key.assistant)
    .where('source_session_id', '=', key.sourceSessionId)
    .executeTakeFirst();
}
