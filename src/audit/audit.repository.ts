import { type Kysely, sql } from 'kysely';
import type { DB } from '../db/schema';
import type { BatchAuditRecord } from './batch-audit';

/** ingest_audit (one row per export call) and admin_audit (deletions, sweeps). */

/** Appends records in one multi-row INSERT (callers keep batches well under 65,535 parameters). */
export async function insertBatchAudits(db: Kysely<DB>, records: readonly BatchAuditRecord[]): Promise<void> {
  if (records.length === 0) return;
  await db
    .insertInto('ingest_audit')
    .values(
      records.map((r) => ({
        workspace_id: r.workspaceId,
        collector_id: r.collectorId,
        batch_id: r.batchId,
        method: r.method,
        received_at: r.receivedAt,
        duration_ms: r.durationMs,
        request_bytes: r.requestBytes,
        sessions_in: r.sessionsIn,
        messages_in: r.messagesIn,
        created: r.created,
        updated: r.updated,
        duplicate: r.duplicate,
        failed: r.failed,
        replayed: r.replayed,
        grpc_code: r.grpcCode,
        first_error: r.firstError,
      })),
    )
    .execute();
}

export interface BatchAuditFilter {
  readonly workspaceId?: string;
  readonly collectorId?: string;
  /** Only calls received after this time. */
  readonly since?: Date;
  /** `failed`: calls that did not end OK or had a failed session. */
  readonly status?: 'failed' | 'ok';
  readonly batchId?: string;
  readonly limit: number;
}

export interface BatchAuditRow extends BatchAuditRecord {
  readonly id: string;
  readonly workspaceSlug: string | null;
  readonly collectorName: string | null;
}

/** Newest first. Slug and collector name are joined when they still exist. */
export async function listBatchAudits(db: Kysely<DB>, filter: BatchAuditFilter): Promise<BatchAuditRow[]> {
  let query = db
    .selectFrom('ingest_audit as a')
    .leftJoin('workspaces as w', 'w.id', 'a.workspace_id')
    .leftJoin('collectors as c', 'c.id', 'a.collector_id')
    .selectAll('a')
    .select(['w.slug as workspace_slug', 'c.name as collector_name']);
  if (filter.workspaceId) query = query.where('a.workspace_id', '=', filter.workspaceId);
  if (filter.collectorId) query = query.where('a.collector_id', '=', filter.collectorId);
  if (filter.since) query = query.where('a.received_at', '>=', filter.since);
  if (filter.batchId !== undefined) query = query.where('a.batch_id', '=', filter.batchId);
  if (filter.status === 'failed') query = query.where((eb) => eb.or([eb('a.grpc_code', '!=', 'OK'), eb('a.failed', '>', 0)]));
  if (filter.status === 'ok') query = query.where('a.grpc_code', '=', 'OK').where('a.failed', '=', 0);
  const rows = await query.orderBy('a.received_at', 'desc').orderBy('a.id', 'desc').limit(filter.limit).execute();
  return rows.map((r) => ({
    id: String(r.id),
    workspaceId: r.workspace_id,
    workspaceSlug: r.workspace_slug,
    collectorId: r.collector_id,
    collectorName: r.collector_name,
    batchId: r.batch_id,
    method: r.method,
    receivedAt: new Date(r.received_at as unknown as string),
    durationMs: Number(r.duration_ms),
    requestBytes: Number(r.request_bytes),
    sessionsIn: r.sessions_in,
    messagesIn: r.messages_in,
    created: r.created,
    updated: r.updated,
    duplicate: r.duplicate,
    failed: r.failed,
    replayed: r.replayed,
    grpcCode: r.grpc_code,
    firstError: r.first_error,
  }));
}

export interface AdminAuditEntry {
  readonly actor: string;
  readonly action: string;
  /** What was acted on: ids, the workspace, the options (never content). */
  readonly target: Record<string, unknown>;
  /** Rows deleted per table. */
  readonly counts: Record<string, number>;
}

export async function insertAdminAudit(db: Kysely<DB>, entry: AdminAuditEntry): Promise<void> {
  await db
    .insertInto('admin_audit')
    .values({
      actor: entry.actor,
      action: entry.action,
      target: JSON.stringify(entry.target),
      counts: JSON.stringify(entry.counts),
    })
    .execute();
}

export interface AdminAuditRow extends AdminAuditEntry {
  readonly at: Date;
}

export async function listAdminAudits(db: Kysely<DB>, limit: number): Promise<AdminAuditRow[]> {
  const rows = await db.selectFrom('admin_audit').selectAll().orderBy('id', 'desc').limit(limit).execute();
  return rows.map((r) => ({
    at: new Date(r.at as unknown as string),
    actor: r.actor,
    action: r.action,
    target: parseJson(r.target),
    counts: parseJson(r.counts) as Record<string, number>,
  }));
}

const parseJson = (v: unknown): Record<string, unknown> =>
  (typeof v === 'string' ? JSON.parse(v) : v) as Record<string, unknown>;

/** Deletes up to `limit` audit rows of `table` older than `olderThanMs`; returns how many. */
export async function pruneAudit(
  db: Kysely<DB>,
  table: 'ingest_audit' | 'admin_audit',
  olderThanMs: number,
  limit: number,
): Promise<number> {
  const column = table === 'ingest_audit' ? 'received_at' : 'at';
  const result = await sql`
    DELETE FROM ${sql.table(table)} WHERE id IN (
      SELECT id FROM ${sql.table(table)}
      WHERE ${sql.ref(column)} < now() - (${olderThanMs}::float8 * interval '1 millisecond')
      LIMIT ${limit})`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}
