import { type Kysely, sql, type Transaction } from 'kysely';
import type { IngestLimits } from '../config/config';
import { isDatabaseUnavailable } from '../db/errors';
import type { DB } from '../db/schema';
import type { Logger } from '../logging/logger';
import {
  ErrorCode,
  type Session,
  type SessionResult,
  SessionStatus,
} from '../../generated/catsyphon/telemetry/v1/sessions';
import { DimensionCache, developerKey, modelKey, projectKey } from './dimension.cache';
import { resolveBackingModel, resolveDeveloper, resolveProject } from './repositories/dimension.repository';
import { insertFiles, insertMessages, type NewFileRow, type NewMessageRow } from './repositories/message.repository';
import { upsertPlans } from './repositories/plan.repository';
import {
  insertSessionIfAbsent,
  lockSessionWithThreads,
  type SessionKey,
  type SessionRefs,
  updateSession,
} from './repositories/session.repository';
import { type NewThreadRow, upsertThreads } from './repositories/thread.repository';
import {
  developerFingerprint,
  fileRows,
  messageRow,
  planRow,
  projectFingerprint,
  sessionFields,
  threadRow,
} from './session.mapper';
import { contiguousSeq, sessionNeedsUpdate, threadNeedsUpdate } from './session.merge';
import { type UnresolvedParent, validateSession } from './session.validator';

/** Who the sessions belong to. */
export interface IngestOwner {
  readonly workspaceId: string;
  readonly collectorId: string;
}

export interface IngestOptions {
  readonly limits: IngestLimits;
  readonly logger: Logger;
  /** Shared across calls to skip dimension lookups; a fresh one when absent. */
  readonly dimensions?: DimensionCache;
  /** Index of sessions[0] in the whole request (field paths on a stream). */
  readonly firstIndex?: number;
  /** Runs in the batch transaction just before it commits. */
  readonly beforeCommit?: (trx: Transaction<DB>, outcome: IngestOutcome) => Promise<void>;
}

export interface IngestOutcome {
  /** One result per session, in request order. */
  readonly results: SessionResult[];
  /** Messages received in the sessions (stored or not). */
  readonly totalMessages: number;
}

/** A check that needed the database failed: the session is invalid, not broken. */
class StoredStateInvalid extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

const failed = (sessionId: string, code: ErrorCode, message: string, field: string): SessionResult => ({
  sessionId,
  catsyphonId: '',
  status: SessionStatus.SESSION_STATUS_FAILED,
  error: { code, message, field },
  messagesIngested: 0,
  threadsIngested: 0,
});

/**
 * Validates and stores a batch of sessions: one transaction, one savepoint
 * per session, so a session that fails leaves nothing behind and the others
 * proceed. Sessions are written in key order so that concurrent batches lock
 * shared sessions in the same order. Throws only when the database is
 * unreachable (or on a bug); expected outcomes are in the results.
 * Callable without gRPC (the benchmark profiles it directly).
 */
export async function ingestBatch(
  db: Kysely<DB>,
  owner: IngestOwner,
  sessions: readonly Session[],
  options: IngestOptions,
): Promise<IngestOutcome> {
  const firstIndex = options.firstIndex ?? 0;
  const results: SessionResult[] = new Array(sessions.length);
  const pending: { index: number; session: Session; unresolved: readonly UnresolvedParent[] }[] = [];
  let totalMessages = 0;
  sessions.forEach((session, index) => {
    for (const t of session.threads) totalMessages += t.messages.length;
    const verdict = validateSession(session, `sessions[${firstIndex + index}]`, options.limits);
    if (verdict.ok) pending.push({ index, session, unresolved: verdict.unresolvedParents });
    else results[index] = failed(session.id, ErrorCode.ERROR_CODE_VALIDATION, verdict.issue.message, verdict.issue.field);
  });
  pending.sort((a, b) => a.session.assistant - b.session.assistant || compareStrings(a.session.id, b.session.id));

  const cache = options.dimensions ?? new DimensionCache(1000);
  const staged = new Map<string, bigint>();
  await db.transaction().execute(async (trx) => {
    for (const item of pending) {
      const path = `sessions[${firstIndex + item.index}]`;
      const sessionStaged = new Map<string, bigint>();
      await sql`SAVEPOINT ingest_session`.execute(trx);
      try {
        results[item.index] = await storeSession(trx, owner, item.session, item.unresolved, cache, sessionStaged);
        await sql`RELEASE SAVEPOINT ingest_session`.execute(trx);
        for (const [k, v] of sessionStaged) staged.set(k, v);
      } catch (err) {
        if (isDatabaseUnavailable(err)) throw err;
        await sql`ROLLBACK TO SAVEPOINT ingest_session`.execute(trx);
        await sql`RELEASE SAVEPOINT ingest_session`.execute(trx);
        if (err instanceof StoredStateInvalid) {
          results[item.index] = failed(item.session.id, ErrorCode.ERROR_CODE_VALIDATION, err.message, err.field);
        } else {
          options.logger.error({ err, sessionId: item.session.id, field: path }, 'storing a session failed');
          results[item.index] = failed(item.session.id, ErrorCode.ERROR_CODE_INTERNAL, 'internal error while storing the session', path);
        }
      }
    }
    await options.beforeCommit?.(trx, { results, totalMessages });
  });
  cache.publish(staged);
  return { results, totalMessages };
}

const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function resolveRefs(
  trx: Kysely<DB>,
  workspaceId: string,
  s: Session,
  cache: DimensionCache,
  staged: Map<string, bigint>,
): Promise<SessionRefs> {
  const lookup = async (key: string, resolve: () => Promise<bigint>): Promise<bigint> => {
    const known = cache.get(key) ?? staged.get(key);
    if (known !== undefined) return known;
    const id = await resolve();
    staged.set(key, id);
    return id;
  };
  const refs: SessionRefs = { project_id: null, developer_id: null, backing_model_id: null };
  if (s.project) {
    const project = s.project;
    const fp = projectFingerprint(project);
    refs.project_id = await lookup(projectKey(workspaceId, fp), () => resolveProject(trx, workspaceId, project, fp));
  }
  if (s.developer) {
    const developer = s.developer;
    const fp = developerFingerprint(developer);
    refs.developer_id = await lookup(developerKey(workspaceId, fp), () =>
      resolveDeveloper(trx, workspaceId, developer, fp),
    );
  }
  if (s.backingModel) {
    const model = s.backingModel;
    refs.backing_model_id = await lookup(modelKey(model.provider, model.modelId), () => resolveBackingModel(trx, model));
  }
  return refs;
}

/** Stores one validated session inside the caller's savepoint. */
async function storeSession(
  trx: Kysely<DB>,
  owner: IngestOwner,
  s: Session,
  unresolved: readonly UnresolvedParent[],
  cache: DimensionCache,
  staged: Map<string, bigint>,
): Promise<SessionResult> {
  const key: SessionKey = { workspaceId: owner.workspaceId, assistant: s.assistant, sourceSessionId: s.id };
  const refs = await resolveRefs(trx, owner.workspaceId, s, cache, staged);
  const fields = sessionFields(s);
  const createdId = await insertSessionIfAbsent(trx, key, owner.collectorId, refs, fields);

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
    if (!stored) throw new Error(`session ${s.id} vanished while being updated`);
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
    for (const [k, v] of await upsertThreads(trx, threadsToSend)) threadIds.set(k, v);
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
