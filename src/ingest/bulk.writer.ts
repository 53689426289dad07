import type { Kysely } from 'kysely';
import type { CopyIn } from '../db/copy';
import type { DB } from '../db/schema';
import { type Session, type SessionResult, SessionStatus } from '../../generated/catsyphon/telemetry/v1/sessions';
import type { DimensionCache } from './dimension.cache';
import { type CopyThread, copyNewMessages } from '../sessions/message.copy';
import { insertFiles, insertNewMessages, type NewFileRow, type NewMessageRow } from '../sessions/message.repository';
import { insertNewPlans } from '../sessions/plan.repository';
import { insertSessionsIfAbsent } from '../sessions/session.repository';
import { type NewThreadRow, threadKey, upsertThreads } from '../sessions/thread.repository';
import { fileRows, messageRow, planRow, sessionFields, threadRow } from '../sessions/session.mapper';
import { type IngestOwner, resolveRefs } from './session.writer';

export interface BulkItem {
  readonly index: number;
  readonly session: Session;
}

/**
 * The fast path for sessions that are new: one statement per table for the
 * whole group (sessions, threads, messages, files, plans), instead of a
 * handful per session. Sessions that turn out to exist already are returned
 * for the per-session path. Runs inside a savepoint of the caller: on any
 * error the caller rolls the group back and stores each session on its own.
 * Messages go in by binary COPY when `copy` is given (PostgreSQL), else as
 * multi-row INSERTs. Returns the results of the sessions it created, by item index.
 */
export async function storeNewSessions(
  trx: Kysely<DB>,
  owner: IngestOwner,
  items: readonly BulkItem[],
  cache: DimensionCache,
  staged: Map<string, bigint>,
  copy?: CopyIn,
): Promise<Map<number, SessionResult>> {
  const rows = [];
  for (const { session } of items) {
    const refs = await resolveRefs(trx, owner.workspaceId, session, cache, staged);
    rows.push({
      workspace_id: owner.workspaceId,
      assistant: session.assistant,
      source_session_id: session.id,
      collector_id: owner.collectorId,
      ...refs,
      ...sessionFields(session),
    });
  }
  const ids = await insertSessionsIfAbsent(trx, rows);
  const created: { item: BulkItem; id: string }[] = [];
  for (const item of items) {
    const key = `${item.session.assistant}\u0000${item.session.id}`;
    const id = ids.get(key);
    if (id === undefined) continue;
    ids.delete(key); // a second copy of the same session in the group takes the general path
    created.push({ item, id });
  }

  const threads: NewThreadRow[] = [];
  for (const { item, id } of created) for (const t of item.session.threads) threads.push(threadRow(id, t));
  const threadIds = threads.length > 0 ? await upsertThreads(trx, threads) : new Map<string, string>();

  const messages: NewMessageRow[] = [];
  const copied: CopyThread[] = [];
  const files: NewFileRow[] = [];
  const plans = [];
  const results = new Map<number, SessionResult>();
  for (const { item, id } of created) {
    let count = 0;
    for (const t of item.session.threads) {
      const threadId = threadIds.get(threadKey(id, t.id)) as string;
      if (copy) copied.push({ threadId, sessionId: id, messages: t.messages });
      for (const m of t.messages) {
        if (!copy) messages.push(messageRow(id, threadId, m));
        if (m.filesTouched.length > 0) files.push(...fileRows(id, threadId, m));
      }
      count += t.messages.length;
    }
    for (const p of item.session.plans) plans.push(planRow(id, p));
    results.set(item.index, {
      sessionId: item.session.id,
      catsyphonId: id,
      status: SessionStatus.SESSION_STATUS_CREATED,
      error: undefined,
      messagesIngested: count,
      threadsIngested: item.session.threads.length,
    });
  }
  if (copy && copied.some((t) => t.messages.length > 0)) await copyNewMessages(copy, copied);
  if (messages.length > 0) await insertNewMessages(trx, messages);
  if (files.length > 0) await insertFiles(trx, files);
  if (plans.length > 0) await insertNewPlans(trx, plans);
  return results;
}
