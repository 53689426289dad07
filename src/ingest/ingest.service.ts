import { type Kysely, sql, type Transaction } from 'kysely';
import type { IngestLimits } from '../config/config';
import type { CopyIn, TransactionRunner } from '../db/copy';
import { isConcurrentDeletion, isDatabaseUnavailable, isTransientConflict } from '../db/errors';
import type { DB } from '../db/schema';
import type { Logger } from '../logging/logger';
import { ErrorCode, type Session, type SessionResult, SessionStatus } from '../../generated/catsyphon/telemetry/v1/sessions';
import { storeNewSessions } from './bulk.writer';
import { DimensionCache } from './dimension.cache';
import { type IngestOwner, resolveBatchRefs, SessionVanished, StoredStateInvalid, storeSession } from './session.writer';
import { type UnresolvedParent, validateSession } from './session.validator';

export type { IngestOwner } from './session.writer';

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

interface Pending {
  readonly index: number;
  readonly session: Session;
  readonly unresolved: readonly UnresolvedParent[];
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
 * Validates and stores a batch of sessions in one transaction. New sessions
 * go in together (one statement per table, in a savepoint); sessions that
 * already exist, or all of them if that group fails, are stored one by one,
 * each in its own savepoint, so a failing session leaves nothing behind and
 * the others proceed. Sessions are written in key order so concurrent
 * batches lock shared sessions in the same order. Throws only when the
 * database is unreachable (or on a bug); expected outcomes are results.
 * Callable without gRPC (the benchmark profiles it directly).
 */
export async function ingestBatch(
  transaction: TransactionRunner,
  owner: IngestOwner,
  sessions: readonly Session[],
  options: IngestOptions,
): Promise<IngestOutcome> {
  const firstIndex = options.firstIndex ?? 0;
  const results: SessionResult[] = new Array(sessions.length);
  const pending: Pending[] = [];
  let totalMessages = 0;
  sessions.forEach((session, index) => {
    for (const t of session.threads) totalMessages += t.messages.length;
    const verdict = validateSession(session, `sessions[${firstIndex + index}]`, options.limits);
    if (verdict.kind === 'valid') pending.push({ index, session, unresolved: verdict.unresolvedParents });
    else results[index] = failed(session.id, ErrorCode.ERROR_CODE_VALIDATION, verdict.issue.message, verdict.issue.field);
  });
  pending.sort((a, b) => a.session.assistant - b.session.assistant || compareStrings(a.session.id, b.session.id));

  const cache = options.dimensions ?? new DimensionCache(1000);
  let staged = new Map<string, bigint>();
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) staged = new Map<string, bigint>();
    try {
      await transaction(storeAll);
      break;
    } catch (err) {
      // A deadlock or serialization failure rolled everything back: the whole batch is retried.
      if (attempt >= MAX_ATTEMPTS || !isRetryable(err)) throw err;
      // A dimension row this process had cached was deleted (src/lifecycle/): look them up again.
      if (isConcurrentDeletion(err)) cache.clear();
      options.logger.warn({ err: String(err), attempt }, 'ingest transaction hit a lock conflict; retrying it');
    }
  }
  cache.publish(staged);
  return { results, totalMessages };

  /** One attempt: everything in one transaction, dimension ids collected in this attempt's `staged`. */
  async function storeAll(trx: Transaction<DB>, copy: CopyIn | undefined): Promise<void> {
    // Outside any savepoint: these ids hold for the whole transaction.
    await resolveBatchRefs(trx, owner.workspaceId, pending.map((p) => p.session), cache, staged);
    let rest = pending;
    let existing = new Set<number>();
    // A new session whose parent thread is not in the request is invalid: the general path reports it.
    const bulk = pending.filter((p) => p.unresolved.length === 0);
    if (bulk.length > 0) {
      const bulkStaged = new Map(staged);
      const created = await inSavepoint(trx, 'ingest_bulk', () => storeNewSessions(trx, owner, bulk, cache, bulkStaged, copy));
      if (created.kind === 'done') {
        for (const [index, result] of created.value) results[index] = result;
        for (const [k, v] of bulkStaged) staged.set(k, v);
        rest = pending.filter((p) => !created.value.has(p.index));
        // The bulk insert skipped these because their row exists (possibly created just now).
        existing = new Set(bulk.filter((p) => !created.value.has(p.index)).map((p) => p.index));
      } else {
        options.logger.debug({ err: created.error }, 'bulk insert failed; storing sessions one by one');
      }
    }
    for (const item of rest) {
      const sessionStaged = new Map(staged);
      const stored = await inSavepoint(trx, 'ingest_session', () =>
        storeSession(trx, owner, item.session, item.unresolved, cache, sessionStaged, existing.has(item.index)),
      );
      if (stored.kind === 'done') {
        results[item.index] = stored.value;
        for (const [k, v] of sessionStaged) staged.set(k, v);
      } else if (stored.error instanceof StoredStateInvalid) {
        const e = stored.error;
        results[item.index] = failed(item.session.id, ErrorCode.ERROR_CODE_VALIDATION, e.message, e.field);
      } else {
        const field = `sessions[${firstIndex + item.index}]`;
        options.logger.error({ err: stored.error, sessionId: item.session.id, field }, 'storing a session failed');
        results[item.index] = failed(item.session.id, ErrorCode.ERROR_CODE_INTERNAL, 'internal error while storing the session', field);
      }
    }
    await options.beforeCommit?.(trx, { results, totalMessages });
  }
}

/** Attempts of a batch transaction that keeps hitting deadlocks or serialization failures. */
const MAX_ATTEMPTS = 3;

/**
 * Retrying the whole transaction may succeed: a deadlock or serialization
 * failure, or a concurrent deletion (src/lifecycle/) that removed a row the
 * batch references (a cached dimension id: 23503) or a session between
 * finding and locking it.
 */
function isRetryable(err: unknown): boolean {
  return isTransientConflict(err) || isConcurrentDeletion(err) || err instanceof SessionVanished;
}

type Attempt<T> = { kind: 'done'; value: T } | { kind: 'failed'; error: unknown };

/**
 * Runs `work` in a savepoint; on failure rolls back to it and returns the
 * error. A lost database is rethrown: the whole call becomes UNAVAILABLE.
 */
async function inSavepoint<T>(trx: Kysely<DB>, name: string, work: () => Promise<T>): Promise<Attempt<T>> {
  await sql`SAVEPOINT ${sql.id(name)}`.execute(trx);
  try {
    const value = await work();
    await sql`RELEASE SAVEPOINT ${sql.id(name)}`.execute(trx);
    return { kind: 'done', value };
  } catch (error) {
    if (isDatabaseUnavailable(error) || isRetryable(error)) throw error;
    await sql`ROLLBACK TO SAVEPOINT ${sql.id(name)}`.execute(trx);
    await sql`RELEASE SAVEPOINT ${sql.id(name)}`.execute(trx);
    return { kind: 'failed', error };
  }
}

const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
