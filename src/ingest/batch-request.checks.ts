import { invalidArgument } from '../errors/domain-error';

/** Checks of a whole export request, before any session is looked at (INVALID_ARGUMENT). */

export const MAX_BATCH_ID_LENGTH = 128;

export function checkBatchId(batchId: string, source: string): void {
  if (batchId.length === 0) throw invalidArgument(`${source} must not be empty`);
  if (batchId.length > MAX_BATCH_ID_LENGTH) {
    throw invalidArgument(`${source} must be at most ${MAX_BATCH_ID_LENGTH} characters`);
  }
  // Stored in a PostgreSQL text column, which cannot hold NUL (found by the fuzz test).
  if (batchId.includes('\u0000')) throw invalidArgument(`${source} must not contain NUL characters`);
}

export function checkSessionCount(count: number, max: number): void {
  if (count > max) throw invalidArgument(`a batch carries at most ${max} sessions (MAX_SESSIONS_PER_BATCH), got ${count}`);
}
