import type { Kysely } from 'kysely';
import type { DB, SessionRow } from '../db/schema';
import { invalidArgument, notFound } from '../errors/domain-error';
import type { Caller } from '../identity/caller';
import type {
  GetSessionRequest,
  GetSessionResponse,
  GetSessionStatusRequest,
  GetSessionStatusResponse,
} from '../../generated/catsyphon/ingest/v1/query';
import { threadProgress } from '../sessions/message.repository';
import { findSession, type SessionKey } from '../sessions/session.repository';
import { readSession } from './session.reader';

/** The key of a stored session of the caller's workspace (never another workspace's). */
function keyOf(request: { sessionId: string; assistant: number }, caller: Caller): SessionKey {
  if (request.sessionId === '') throw invalidArgument('session_id must not be empty');
  return { workspaceId: caller.workspaceId, assistant: request.assistant, sourceSessionId: request.sessionId };
}

async function requireSession(db: Kysely<DB>, request: { sessionId: string; assistant: number }, caller: Caller): Promise<SessionRow> {
  const row = await findSession(db, keyOf(request, caller));
  if (!row) throw notFound(`session ${JSON.stringify(request.sessionId)} not found`);
  return row;
}

/** GetSession: the stored session rebuilt as exported, or NOT_FOUND. */
export async function getSession(db: Kysely<DB>, request: GetSessionRequest, caller: Caller): Promise<GetSessionResponse> {
  const row = await requireSession(db, request, caller);
  return { catsyphonId: row.id, session: await readSession(db, row) };
}

/**
 * GetSessionStatus: per thread, the highest seq and message count stored, its
 * parent, and whether that parent is still unknown (sent before its parent).
 */
export async function getSessionStatus(
  db: Kysely<DB>,
  request: GetSessionStatusRequest,
  caller: Caller,
): Promise<GetSessionStatusResponse> {
  const row = await requireSession(db, request, caller);
  const threads = await threadProgress(db, row.id);
  const stored = new Set(threads.map((t) => t.source_thread_id));
  let total = 0n;
  const statuses = threads.map((t) => {
    total += BigInt(t.message_count);
    return {
      threadId: t.source_thread_id,
      lastSeq: Number(t.last_seq),
      messageCount: BigInt(t.message_count),
      parentThreadId: t.parent_thread_id ?? undefined,
      awaitingParent: t.parent_thread_id !== null && !stored.has(t.parent_thread_id),
    };
  });
  return {
    catsyphonId: row.id,
    firstActivityAtNs: BigInt(row.started_at_ns),
    lastActivityAtNs: BigInt(row.last_activity_at_ns),
    threads: statuses,
    messageCount: total,
  };
}
