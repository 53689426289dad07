import { type Kysely, sql } from 'kysely';
import type { DB } from '../db/schema';

/**
 * ingest_batches: one row per (workspace, batch_id). `in_progress` while one
 * call (its `owner`) ingests the batch and refreshes `heartbeat_at`; `done`
 * with the encoded response once it finished. Times come from the database
 * clock so replicas agree.
 */

export interface BatchKey {
  readonly workspaceId: string;
  readonly batchId: string;
}

export interface BatchRecord {
  state: 'in_progress' | 'done';
  request_hash: Buffer;
  response: Buffer | null;
  owner: string | null;
  expired: boolean;
  stale: boolean;
  /** Milliseconds until the record expires (database clock). */
  remaining_ms: number;
}

/** What claimOrFind saw: our claim succeeded, another call's record, or neither (retry). */
export type ClaimOutcome = { kind: 'claimed' } | { kind: 'found'; record: BatchRecord | undefined };

/**
 * One round trip: inserts the in_progress row, or, when the batch already
 * has one, returns it. `record` is undefined only when a concurrent call
 * inserted the row after this statement's snapshot: just try again.
 */
export async function claimOrFind(
  db: Kysely<DB>,
  key: BatchKey,
  requestHash: Buffer,
  owner: string,
  ttlMs: number,
  staleMs: number,
): Promise<ClaimOutcome> {
  const result = await sql<BatchRecord & { claimed: boolean }>`
    WITH ins AS (
      INSERT INTO ingest_batches (workspace_id, batch_id, request_hash, state, owner, heartbeat_at, expires_at)
      VALUES (${key.workspaceId}, ${key.batchId}, ${requestHash}, 'in_progress', ${owner}, now(), now() + ${ms(ttlMs)})
      ON CONFLICT (workspace_id, batch_id) DO NOTHING
      RETURNING batch_id)
    SELECT true AS claimed, NULL AS state, NULL::bytea AS request_hash, NULL::bytea AS response, NULL AS owner,
      false AS expired, false AS stale, 0::float8 AS remaining_ms
    FROM ins
    UNION ALL
    SELECT false, state, request_hash, response, owner,
      expires_at <= now(), heartbeat_at < now() - ${ms(staleMs)},
      extract(epoch FROM expires_at - now())::float8 * 1000
    FROM ingest_batches WHERE workspace_id = ${key.workspaceId} AND batch_id = ${key.batchId}`.execute(db);
  const row = result.rows[0];
  if (row?.claimed) return { kind: 'claimed' };
  return { kind: 'found', record: row && toRecord(row) };
}

function toRecord(row: BatchRecord): BatchRecord {
  return {
    state: row.state,
    request_hash: toBuffer(row.request_hash),
    response: row.response && toBuffer(row.response),
    owner: row.owner,
    expired: row.expired,
    stale: row.stale,
    remaining_ms: Number(row.remaining_ms),
  };
}

const ms = (value: number) => sql`(${value}::float8 * interval '1 millisecond')`;

/** Takes over an in_progress batch whose owner stopped sending heartbeats. */
export async function takeOverBatch(
  db: Kysely<DB>,
  key: BatchKey,
  previousOwner: string | null,
  owner: string,
  staleMs: number,
): Promise<boolean> {
  const result = await sql`
    UPDATE ingest_batches SET owner = ${owner}, heartbeat_at = now()
    WHERE workspace_id = ${key.workspaceId} AND batch_id = ${key.batchId} AND state = 'in_progress'
      AND owner IS NOT DISTINCT FROM ${previousOwner} AND heartbeat_at < now() - ${ms(staleMs)}`.execute(db);
  return Number(result.numAffectedRows ?? 0n) === 1;
}

export async function deleteIfExpired(db: Kysely<DB>, key: BatchKey): Promise<void> {
  await sql`DELETE FROM ingest_batches
    WHERE workspace_id = ${key.workspaceId} AND batch_id = ${key.batchId} AND expires_at <= now()`.execute(db);
}

export async function heartbeatBatch(db: Kysely<DB>, key: BatchKey, owner: string): Promise<void> {
  await sql`UPDATE ingest_batches SET heartbeat_at = now()
    WHERE workspace_id = ${key.workspaceId} AND batch_id = ${key.batchId} AND owner = ${owner}
      AND state = 'in_progress'`.execute(db);
}

/** Stores the response; false when the row is no longer ours (taken over). */
export async function completeBatch(
  db: Kysely<DB>,
  key: BatchKey,
  owner: string,
  requestHash: Buffer,
  response: Buffer,
  ttlMs: number,
): Promise<boolean> {
  const result = await sql`
    UPDATE ingest_batches
    SET state = 'done', response = ${response}, request_hash = ${requestHash}, heartbeat_at = now(),
        expires_at = now() + ${ms(ttlMs)}
    WHERE workspace_id = ${key.workspaceId} AND batch_id = ${key.batchId} AND owner = ${owner}
      AND state = 'in_progress'`.execute(db);
  return Number(result.numAffectedRows ?? 0n) === 1;
}

/** Drops our in_progress row so a retry can start afresh. */
export async function releaseBatch(db: Kysely<DB>, key: BatchKey, owner: string): Promise<void> {
  await sql`DELETE FROM ingest_batches
    WHERE workspace_id = ${key.workspaceId} AND batch_id = ${key.batchId} AND owner = ${owner}
      AND state = 'in_progress'`.execute(db);
}

export async function purgeExpiredBatches(db: Kysely<DB>): Promise<number> {
  const result = await sql`DELETE FROM ingest_batches WHERE expires_at <= now()`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

function toBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
