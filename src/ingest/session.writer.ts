import type { Kysely } from 'kysely';
import type { DB } from '../db/schema';
import { type Session, type SessionResult, SessionStatus } from '../../generated/catsyphon/telemetry/v1/sessions';
import { type DimensionCache, developerKey, modelKey, projectKey } from './dimension.cache';
import { type DimensionRow, type DimensionTable, resolveDimension } from '../sessions/dimension.repository';
import { insertFiles, insertMessages, type NewFileRow, type NewMessageRow } from '../sessions/message.repository';
import { upsertPlans } from '../sessions/plan.repository';
import {
  insertSessionIfAbsent,
  lockSessionWithThreads,
  type SessionKey,
  type SessionRefs,
  updateSession,
} from '../sessions/session.repository';
import { type NewThreadRow, threadKey, upsertThreads } from '../sessions/thread.repository';
import {
  backingModelRow,
  developerFingerprint,
  developerRow,
  fileRows,
  messageRow,
  planRow,
  projectFingerprint,
  projectRow,
  sessionFields,
  threadRow,
} from '../sessions/session.mapper';
import { contiguousSeq, sessionNeedsUpdate, threadNeedsUpdate } from '../sessions/session.merge';
import type { UnresolvedParent } from './session.validator';

/** Who the sessions belong to. */
export interface IngestOwner {
  readonly workspaceId: string;
  readonly collectorId: string;
}

/** A check that needed the database failed: the session is invalid, not broken. */
export class StoredStateInvalid extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

type RefColumn = keyof SessionRefs;

/** The session's project, developer and backing model: cache key, column and how to find or create the row. */
function dimensionsOf(trx: Kysely<DB>, workspaceId: string, s: Session) {
  const out: { key: string; column: RefColumn; resolve: () => Promise<bigint> }[] = [];
  const add = <T extends DimensionTable>(key: string, column: RefColumn, table: T, row: () => DimensionRow<T>) =>
    out.push({ key, column, resolve: () => resolveDimension(trx, table, row()) });
  const { project, developer, backingModel: model } = s;
  if (project) {
    const fp = projectFingerprint(project);
    add(projectKey(workspaceId, fp), 'project_id', 'projects', () => projectRow(workspaceId, project, fp));
  }
  if (developer) {
    const fp = developerFingerprint(developer);
    add(developerKey(workspaceId, fp), 'developer_id', 'developers', () => developerRow(workspaceId, developer, fp));
  }
  if (model) add(modelKey(model.provider, model.modelId), 'backing_model_id', 'backing_models', () => backingModelRow(model));
  return out;
}

/** Ids of the session's project, developer and backing model (cached, else one round trip each). */
export async function resolveRefs(
  trx: Kysely<DB>,
  workspaceId: string,
  s: Session,
  cache: DimensionCache,
  staged: Map<string, bigint>,
): Promise<SessionRefs> {
  const refs: SessionRefs = { project_id: null, developer_id: null, backing_model_id: null };
  for (const d of dimensionsOf(trx, workspaceId, s)) {
    let id = cache.get(d.key) ?? staged.get(d.key);
    if (id === undefined) {
      id = await d.resolve();
      staged.set(d.key, id);
    }
    refs[d.column] = id;
  }
  return refs;
}

/**
 * Finds or creates every project, developer and backing model of a batch in
 * one global order (by cache key) into `staged`. Concurrent batches that
 * create the same new rows then wait for each other instead of deadlocking,
 * which they did when each session resolved its own in turn.
 */
export async function resolveBatchRefs(
  trx: Kysely<DB>,
  workspaceId: string,
  sessions: readonly Session[],
  cache: DimensionCache,
  staged: Map<string, bigint>,
): Promise<void> {
  const todo = new Map<string, () => Promise<bigint>>();
  for (const s of sessions) {
    for (const d of dimensionsOf(trx, workspaceId, s)) if (cache.get(d.key) === undefined) todo.set(d.key, d.resolve);
  }
  for (const key of [...todo.keys()].sort()) staged.set(key, await (todo.get(key) as () => Promise<bigint>)());
}

/**
 * Stores one validated session, new or existing, inside the caller's
 * savepoint: the general path, used for sessions the bulk path cannot take.
 */
export async function storeSession(
  trx: Kysely<DB>,
  owner: IngestOwner,
  s: Session,
  unresolved: readonly UnresolvedParent[],
  cache: DimensionCache,
  staged: Map<string, bigint>,
  /** The caller just saw the session row exist: skip the insert attempt. */
  knownToExist = false,
): Promise<SessionResult> {
  const key: SessionKey = { workspaceId: owner.workspaceId, assistant: s.assistant, sourceSessionId: s.id };
  const refs = await resolveRefs(trx, owner.workspaceId, s, cache, staged);
  const fields = sessionFields(s);
  const createdId = knownToExist ? undefined : await insertSessionIfAbsent(trx, key, owner.collectorId, refs, fields);

  let sessionId: string;
  let sessionChanged = false;
  const threadsToSend: NewThreadRow[] = [];
  const threadIds = new Map<string, string>();
  const skipUpTo = new Map<string, number>();
  let newThreads = 0;
  if (createdId !== undefined) {
    sessionId = createdId;
    if (unresolved.length > 0) throw unknownParent(unresolved[0]);
    for (const t of s.threads) threadsToSend.push(threadRow(sessionId, t));
    newThreads = s.threads.length;
  } else {
    const stored = await lockSessionWithThreads(trx, key);
    if (!stored) throw new SessionVanished(s.id);
    sessionId = stored.id;
    const byId = new Map(stored.threads.map((t) => [t.source_thread_id, t]));
    for (const u of unresolved) if (!byId.has(u.parentThreadId)) throw unknownParent(u);
    if (sessionNeedsUpdate(stored, refs, fields)) {
      sessionChanged = true;
      await updateSession(trx, sessionId, owner.collectorId, refs, fields);
    }
    for (const t of s.threads) {
      const known = byId.get(t.id);
      if (!known) {
        newThreads++;
        threadsToSend.push(threadRow(sessionId, t));
      } else {
        threadIds.set(t.id, known.id);
        skipUpTo.set(t.id, contiguousSeq(known));
        if (threadNeedsUpdate(known, t)) {
          sessionChanged = true;
          threadsToSend.push(threadRow(sessionId, t));
        }
      }
    }
  }
  if (threadsToSend.length > 0) {
    const ids = await upsertThreads(trx, threadsToSend);
    for (const t of s.threads) {
      const id = ids.get(threadKey(sessionId, t.id));
      if (id !== undefined) threadIds.set(t.id, id);
    }
  }

  const messageRows: NewMessageRow[] = [];
  for (const t of s.threads) {
    const threadId = threadIds.get(t.id) as string;
    const skip = skipUpTo.get(t.id) ?? 0;
    for (const m of t.messages) if (m.seq > skip) messageRows.push(messageRow(sessionId, threadId, m));
  }
  const inserted = messageRows.length > 0 ? await insertMessages(trx, messageRows) : new Set<string>();
  const files: NewFileRow[] = [];
  if (inserted.size > 0) {
    for (const t of s.threads) {
      const threadId = threadIds.get(t.id) as string;
      for (const m of t.messages) {
        if (m.filesTouched.length > 0 && inserted.has(`${threadId}:${m.seq}`)) files.push(...fileRows(sessionId, threadId, m));
      }
    }
  }
  if (files.length > 0) await insertFiles(trx, files);
  const plansChanged = s.plans.length > 0 ? await upsertPlans(trx, s.plans.map((p) => planRow(sessionId, p))) : 0;

  const status =
    createdId !== undefined
      ? SessionStatus.SESSION_STATUS_CREATED
      : sessionChanged || newThreads > 0 || inserted.size > 0 || plansChanged > 0
        ? SessionStatus.SESSION_STATUS_UPDATED
        : SessionStatus.SESSION_STATUS_DUPLICATE;
  return {
    sessionId: s.id,
    catsyphonId: sessionId,
    status,
    error: undefined,
    messagesIngested: inserted.size,
    threadsIngested: newThreads,
  };
}

function unknownParent(u: UnresolvedParent): StoredStateInvalid {
  return new StoredStateInvalid(
    u.field,
    `parent_thread_id ${JSON.stringify(u.parentThreadId)} names no thread of the session`,
  );
}

/**
 * The session row was deleted (retention or a deletion on request) between
 * finding it and locking it: the whole transaction is retried, and stores
 * the session as new.
 */
export class SessionVanished extends Error {
  constructor(sessionId: string) {
    super(`session ${sessionId} vanished while being updated`);
    this.name = 'SessionVanished';
  }
}
