import { type Kysely, sql } from 'kysely';
import type { DB, FileTouchedRow, MessageRow } from '../db/schema';
import type { fileRows, messageRow } from './session.mapper';
import { chunked } from './chunks';

export type NewMessageRow = ReturnType<typeof messageRow>;
export type NewFileRow = ReturnType<typeof fileRows>[number];

/** 18 columns per message row, 9 per file row: far below 65,535 parameters. */
const MESSAGES_PER_STATEMENT = 1000;
const FILES_PER_STATEMENT = 3000;

/**
 * Appends messages; rows whose (thread, seq) is already stored are skipped.
 * Returns the keys `${thread_id}:${seq}` of the rows newly stored.
 */
export async function insertMessages(db: Kysely<DB>, rows: readonly NewMessageRow[]): Promise<Set<string>> {
  const inserted = new Set<string>();
  for (const chunk of chunked(rows, MESSAGES_PER_STATEMENT)) {
    const returned = await db
      .insertInto('messages')
      .values(chunk)
      .onConflict((oc) => oc.columns(['thread_id', 'seq']).doNothing())
      .returning(['thread_id', 'seq'])
      .execute();
    for (const r of returned) inserted.add(`${r.thread_id}:${r.seq}`);
  }
  return inserted;
}

export async function insertFiles(db: Kysely<DB>, rows: readonly NewFileRow[]): Promise<void> {
  for (const chunk of chunked(rows, FILES_PER_STATEMENT)) {
    await db.insertInto('files_touched').values(chunk).execute();
  }
}

export async function listMessages(db: Kysely<DB>, sessionId: string): Promise<MessageRow[]> {
  return db
    .selectFrom('messages')
    .selectAll()
    .where('session_id', '=', sessionId)
    .orderBy('thread_id')
    .orderBy('seq')
    .execute();
}

/** The files_touched rows of a session, in message order (thread, seq), each message's in its order. */
export async function listFiles(db: Kysely<DB>, sessionId: string): Promise<FileTouchedRow[]> {
  const result = await sql<FileTouchedRow>`
    SELECT * FROM files_touched WHERE session_id = ${sessionId} ORDER BY thread_id, seq, ordinal`.execute(db);
  return result.rows;
}

/**
 * Highest seq and message count per thread of a session (GetSessionStatus).
 * A LATERAL subquery per thread always reads the (thread_id, seq) primary
 * key; a plain join + GROUP BY was planned as a sequential scan of all
 * messages until autoanalyze had run (bench/README.md, finding 6).
 */
export async function threadProgress(db: Kysely<DB>, sessionId: string) {
  const rows = await db
    .selectFrom('threads as t')
    .innerJoinLateral(
      (eb) =>
        eb
          .selectFrom('messages as m')
          .select((e) => [
            e.fn.coalesce(e.fn.max('m.seq'), e.lit(0)).as('last_seq'),
            e.fn.countAll<bigint>().as('message_count'),
          ])
          .whereRef('m.thread_id', '=', 't.id')
          .as('p'),
      (join) => join.onTrue(),
    )
    .select(['t.id', 't.source_thread_id', 't.parent_thread_id', 'p.last_seq', 'p.message_count'])
    .where('t.session_id', '=', sessionId)
    .execute();
  // Sorted here: an ORDER BY t.id lets a planner without statistics walk the threads' primary key.
  return rows.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** Inserts messages of threads created in this transaction (no conflict possible). */
export async function insertNewMessages(db: Kysely<DB>, rows: readonly NewMessageRow[]): Promise<void> {
  for (const chunk of chunked(rows, MESSAGES_PER_STATEMENT)) await db.insertInto('messages').values(chunk).execute();
}
