import { type Kysely, sql } from 'kysely';
import type { DB, ThreadRow } from '../db/schema';
import type { threadRow } from './session.mapper';
import { chunked } from './chunks';

export type NewThreadRow = ReturnType<typeof threadRow>;

/** 9 columns per row: well under PostgreSQL's 65,535 parameters. */
const ROWS_PER_STATEMENT = 2000;

/** Key of a thread in the maps below (thread ids cannot hold NUL). */
export const threadKey = (sessionId: string, sourceThreadId: string) => `${sessionId}\u0000${sourceThreadId}`;

/**
 * Inserts new threads and overwrites changed ones (the caller decides which
 * rows to send). Returns the row id of every thread sent, by threadKey.
 */
export async function upsertThreads(db: Kysely<DB>, rows: readonly NewThreadRow[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const chunk of chunked(rows, ROWS_PER_STATEMENT)) {
    const returned = await db
      .insertInto('threads')
      .values(chunk)
      .onConflict((oc) =>
        oc.columns(['session_id', 'source_thread_id']).doUpdateSet({
          parent_thread_id: (eb) => eb.ref('excluded.parent_thread_id'),
          type: (eb) => eb.ref('excluded.type'),
          spawned_by_message_id: (eb) => eb.ref('excluded.spawned_by_message_id'),
          started_at_ns: (eb) => eb.ref('excluded.started_at_ns'),
          ended_at_ns: (eb) => eb.ref('excluded.ended_at_ns'),
          last_activity_at_ns: sql`GREATEST(threads.last_activity_at_ns, excluded.last_activity_at_ns)`,
          metadata: (eb) => eb.ref('excluded.metadata'),
        }),
      )
      .returning(['id', 'session_id', 'source_thread_id'])
      .execute();
    for (const r of returned) ids.set(threadKey(r.session_id, r.source_thread_id), String(r.id));
  }
  return ids;
}

export async function listThreads(db: Kysely<DB>, sessionId: string): Promise<ThreadRow[]> {
  return db.selectFrom('threads').selectAll().where('session_id', '=', sessionId).orderBy('id').execute();
}
