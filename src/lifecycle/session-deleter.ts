import type { Kysely } from 'kysely';
import { isConcurrentDeletion, isTransientConflict } from '../db/errors';
import type { DB } from '../db/schema';
import type { Logger } from '../logging/logger';
import {
  deleteSessionData,
  deleteUnreferencedDimensions,
  type DeletedSessions,
  lockSessions,
  type SessionSelector,
} from '../sessions/session-deletion.repository';
import { tryRetentionLock } from './deletion.repository';
import { addCounts, type DeletionCounts, emptyCounts } from './lifecycle-api';

export interface DeleteOptions {
  /** Sessions per transaction: bounds lock time and WAL per step. */
  readonly batchSessions: number;
  /** The sweeper: skip sessions an ingest holds, and stop when another replica holds the advisory lock. */
  readonly sweeper?: boolean;
}

/** Outcome of deleteSelected; `locked` when another replica's sweeper held the lock. */
export interface DeleteOutcome {
  readonly counts: DeletionCounts;
  readonly locked: boolean;
}

/**
 * Deletes every session of the selector, `batchSessions` at a time, each
 * batch in its own transaction, then (in a second, short transaction) the
 * projects, developers and backing models nothing references any more.
 * Dimension rows are deleted apart so the session transaction never waits
 * on an ingest's key-share locks while holding session locks.
 */
export async function deleteSelected(
  db: Kysely<DB>,
  logger: Logger,
  selector: SessionSelector,
  options: DeleteOptions,
): Promise<DeleteOutcome> {
  const counts = emptyCounts();
  for (;;) {
    const step = await retrying(logger, () =>
      db.transaction().execute(async (trx): Promise<DeletedSessions | 'locked' | 'done'> => {
        if (options.sweeper && !(await tryRetentionLock(trx))) return 'locked';
        const ids = await lockSessions(trx, selector, options.batchSessions, !!options.sweeper);
        if (ids.length === 0) return 'done';
        return deleteSessionData(trx, ids);
      }),
    );
    if (step === 'locked') return { counts, locked: true };
    if (step === 'done') return { counts, locked: false };
    addCounts(counts, step.counts);
    addCounts(counts, await retrying(logger, () => deleteUnreferencedDimensions(db, step)));
    // Embedded PGlite runs in this thread: let calls in flight have their turn between batches.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const ATTEMPTS = 5;

export async function retrying<T>(logger: Logger, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      // A deadlock, a serialization failure, or a dimension row an ingest referenced meanwhile.
      if (attempt >= ATTEMPTS || !(isTransientConflict(err) || isConcurrentDeletion(err))) throw err;
      logger.debug({ err: String(err), attempt }, 'deletion step conflicted with ingestion; retrying it');
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    }
  }
}
