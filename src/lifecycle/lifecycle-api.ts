import type { GetSessionResponse } from '../../generated/catsyphon/ingest/v1/query';

/**
 * The data-lifecycle operations of the CLI: the audit trail of export calls,
 * what is stored, retention and deletion. Like the admin API, one
 * implementation runs on the database (LifecycleService), the other asks a
 * running server over its admin socket.
 */

export interface BatchView {
  readonly id: string;
  readonly workspaceId: string;
  readonly workspaceSlug: string | null;
  readonly collectorId: string;
  readonly collectorName: string | null;
  readonly batchId: string;
  readonly method: string;
  readonly receivedAt: string;
  readonly durationMs: number;
  readonly requestBytes: number;
  readonly sessionsIn: number;
  readonly messagesIn: number;
  readonly created: number;
  readonly updated: number;
  readonly duplicate: number;
  readonly failed: number;
  readonly replayed: boolean;
  readonly grpcCode: string;
  readonly firstError: string | null;
}

export interface BatchFilter {
  /** Workspace id or slug. */
  readonly workspace?: string;
  readonly collector?: string;
  /** Only calls received in the last `sinceMs`. */
  readonly sinceMs?: number;
  readonly status?: 'failed' | 'ok';
  readonly limit?: number;
}

export interface SessionSummary {
  /** The catsyphon id. */
  readonly id: string;
  readonly workspaceId: string;
  readonly workspaceSlug: string;
  /** The Assistant enum name, e.g. ASSISTANT_CLAUDE_CODE. */
  readonly assistant: string;
  readonly sourceSessionId: string;
  readonly collectorId: string | null;
  readonly collectorName: string | null;
  readonly project: string | null;
  readonly developer: string | null;
  readonly threads: number;
  readonly messages: number;
  readonly startedAt: string;
  readonly lastActivityAt: string;
}

export interface SessionFilter {
  readonly workspace?: string;
  readonly collector?: string;
  /** Only sessions active in the last `sinceMs`. */
  readonly sinceMs?: number;
  /** Assistant enum value. */
  readonly assistant?: number;
  readonly limit?: number;
}

export interface StoredSession {
  readonly summary: SessionSummary;
  /** What SessionQueryService.GetSession returns for it. */
  readonly response: GetSessionResponse;
}

/** Rows deleted (or, on a dry run, that would be) per kind. */
export interface DeletionCounts {
  sessions: number;
  threads: number;
  messages: number;
  filesTouched: number;
  plans: number;
  projects: number;
  developers: number;
  backingModels: number;
  collectors: number;
  workspaces: number;
  idempotencyRecords: number;
}

export const emptyCounts = (): DeletionCounts => ({
  sessions: 0,
  threads: 0,
  messages: 0,
  filesTouched: 0,
  plans: 0,
  projects: 0,
  developers: 0,
  backingModels: 0,
  collectors: 0,
  workspaces: 0,
  idempotencyRecords: 0,
});

export function addCounts(into: DeletionCounts, more: Partial<DeletionCounts>): DeletionCounts {
  for (const [k, v] of Object.entries(more) as [keyof DeletionCounts, number][]) into[k] += v;
  return into;
}

export interface DeletionReport {
  /** sessions.delete, collector.purge, developer.purge, workspace.delete, retention.sweep */
  readonly action: string;
  readonly dryRun: boolean;
  readonly target: Readonly<Record<string, string>>;
  readonly counts: DeletionCounts;
}

export interface DeletionOptions {
  readonly dryRun?: boolean;
  /** Who asked, for the audit entry (user@host of the CLI). */
  readonly actor: string;
}

export interface RetentionView {
  readonly workspaceId: string;
  readonly slug: string;
  /** Null: sessions are kept forever. */
  readonly retentionMs: number | null;
}

export interface LifecycleApi {
  listBatches(filter: BatchFilter): Promise<BatchView[]>;
  /** Every recorded call with this batch_id (retries and other workspaces included). */
  showBatch(batchId: string): Promise<BatchView[]>;
  listSessions(filter: SessionFilter): Promise<SessionSummary[]>;
  /** By catsyphon id, or by the collector's session id when that is unique. */
  showSession(id: string): Promise<StoredSession>;
  setRetention(workspace: string, retentionMs: number | null): Promise<RetentionView>;
  deleteSessions(ids: readonly string[], options: DeletionOptions): Promise<DeletionReport>;
  purgeCollector(collectorId: string, options: DeletionOptions & { deleteCollector?: boolean }): Promise<DeletionReport>;
  purgeDeveloper(workspace: string, email: string, options: DeletionOptions): Promise<DeletionReport>;
  deleteWorkspace(workspace: string, options: DeletionOptions): Promise<DeletionReport>;
  /** Runs one retention sweep now (also what the server's timer runs). */
  sweepRetention(): Promise<DeletionReport>;
}
