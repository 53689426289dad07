import type { Kysely } from 'kysely';
import { type AdminAuditEntry, insertAdminAudit, listBatchAudits } from '../audit/audit.repository';
import { findCollector, updateCollector } from '../collectors/collector.repository';
import { findWorkspace, UUID_PATTERN } from '../collectors/workspace.repository';
import type { DB } from '../db/schema';
import { DomainError, invalidArgument, notFound } from '../errors/domain-error';
import type { Logger } from '../logging/logger';
import { readSession } from '../query/session.reader';
import { type Clock, systemClock } from '../util/clock';
import { Assistant, assistantToJSON } from '../../generated/catsyphon/telemetry/v1/sessions';
import {
  countSessionData,
  deleteUnreferencedDimensions,
  type SessionSelector,
  workspaceDimensionIds,
} from '../sessions/session-deletion.repository';
import { deleteCollectorRow, deleteWorkspaceRows } from './deletion.repository';
import {
  addCounts,
  type BatchFilter,
  type BatchView,
  type DeletionOptions,
  type DeletionReport,
  emptyCounts,
  type LifecycleApi,
  type RetentionView,
  type SessionFilter,
  type SessionSummary,
  type StoredSession,
} from './lifecycle-api';
import type { RetentionSweeper } from './retention.sweeper';
import { deleteSelected, retrying } from './session-deleter';
import { listSessionCatalog, type SessionCatalogRow, sessionRowById } from '../sessions/session-catalog.repository';
import { setWorkspaceRetention } from './retention.repository';

export interface LifecycleServiceDeps {
  readonly db: Kysely<DB>;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Sessions per deletion transaction. */
  readonly batchSessions: number;
  /** Runs sweeps for sweepRetention() (the server's own sweeper, so counts and metrics agree). */
  readonly sweeper: RetentionSweeper;
  /** Flushes audit records still queued in this process before listing them. */
  readonly flushAudit?: () => Promise<void>;
  /** Told after a collector was revoked or deleted (clears a server's auth cache). */
  readonly onCollectorChanged?: (collectorId: string) => void;
}

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 10_000;

/** The data-lifecycle operations on a database (the CLI's local path and the admin socket's server side). */
export class LifecycleService implements LifecycleApi {
  private readonly clock: Clock;

  constructor(private readonly deps: LifecycleServiceDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  async listBatches(filter: BatchFilter): Promise<BatchView[]> {
    await this.deps.flushAudit?.();
    const rows = await listBatchAudits(this.deps.db, {
      workspaceId: filter.workspace ? (await this.workspace(filter.workspace)).id : undefined,
      collectorId: filter.collector ? checkUuid(filter.collector, 'collector id') : undefined,
      since: filter.sinceMs === undefined ? undefined : new Date(this.clock.now() - filter.sinceMs),
      status: filter.status,
      limit: limitOf(filter.limit),
    });
    return rows.map((r) => ({ ...r, receivedAt: r.receivedAt.toISOString() }));
  }

  async showBatch(batchId: string): Promise<BatchView[]> {
    await this.deps.flushAudit?.();
    const rows = await listBatchAudits(this.deps.db, { batchId, limit: MAX_LIMIT });
    if (rows.length === 0) throw notFound(`no recorded call with batch_id ${JSON.stringify(batchId)}`);
    return rows.map((r) => ({ ...r, receivedAt: r.receivedAt.toISOString() }));
  }

  async listSessions(filter: SessionFilter): Promise<SessionSummary[]> {
    const rows = await listSessionCatalog(this.deps.db, {
      workspaceId: filter.workspace ? (await this.workspace(filter.workspace)).id : undefined,
      collectorId: filter.collector ? checkUuid(filter.collector, 'collector id') : undefined,
      activeSinceNs: filter.sinceMs === undefined ? undefined : BigInt(this.clock.now() - filter.sinceMs) * 1_000_000n,
      assistant: filter.assistant,
      limit: limitOf(filter.limit),
    });
    return rows.map(toSummary);
  }

  async showSession(id: string): Promise<StoredSession> {
    const matches = UUID_PATTERN.test(id)
      ? await listSessionCatalog(this.deps.db, { ids: [id.toLowerCase()], limit: 1 })
      : [];
    const found = matches.length > 0 ? matches : await listSessionCatalog(this.deps.db, { sourceSessionId: id, limit: 2 });
    if (found.length === 0) throw notFound(`session ${JSON.stringify(id)} not found`);
    if (found.length > 1) {
      throw invalidArgument(`more than one stored session has the id ${JSON.stringify(id)}; give the catsyphon id (sessions list)`);
    }
    const row = await sessionRowById(this.deps.db, found[0].id);
    if (!row) throw notFound(`session ${JSON.stringify(id)} not found`);
    return { summary: toSummary(found[0]), response: { catsyphonId: row.id, session: await readSession(this.deps.db, row) } };
  }

  async setRetention(workspace: string, retentionMs: number | null): Promise<RetentionView> {
    if (retentionMs !== null && !(Number.isSafeInteger(retentionMs) && retentionMs >= 1_000)) {
      throw invalidArgument('retention must be at least 1s, or never');
    }
    const ws = await this.workspace(workspace);
    await setWorkspaceRetention(this.deps.db, ws.id, retentionMs);
    return { workspaceId: ws.id, slug: ws.slug, retentionMs };
  }

  async deleteSessions(ids: readonly string[], options: DeletionOptions): Promise<DeletionReport> {
    if (ids.length === 0) throw invalidArgument('give at least one session id');
    const unique = [...new Set(ids.map((id) => checkUuid(id, 'session id')))];
    const existing = await listSessionCatalog(this.deps.db, { ids: unique, limit: unique.length });
    const missing = unique.filter((id) => !existing.some((r) => r.id === id));
    if (missing.length > 0) throw notFound(`no stored session with id ${missing.join(', ')}`);
    return this.run('sessions.delete', { sessions: unique.join(',') }, { by: 'ids', ids: unique }, options);
  }

  async purgeCollector(
    collectorId: string,
    options: DeletionOptions & { deleteCollector?: boolean },
  ): Promise<DeletionReport> {
    const collector = await findCollector(this.deps.db, checkUuid(collectorId, 'collector id'));
    if (!collector) throw notFound(`collector ${collectorId} not found`);
    const target = {
      collectorId: collector.id,
      workspaceId: collector.workspace_id,
      deleteCollector: String(!!options.deleteCollector),
    };
    if (!options.dryRun && collector.is_active) {
      // Revoked first, so nothing new arrives while its data goes.
      await updateCollector(this.deps.db, collector.id, { is_active: false, revoked_at: new Date(this.clock.now()) });
      this.deps.onCollectorChanged?.(collector.id);
    }
    return this.run('collector.purge', target, { by: 'collector', collectorId: collector.id }, options, async (counts) => {
      if (!options.deleteCollector) return;
      if (options.dryRun) counts.collectors += 1;
      else {
        counts.collectors += await deleteCollectorRow(this.deps.db, collector.id);
        this.deps.onCollectorChanged?.(collector.id);
      }
    });
  }

  async purgeDeveloper(workspace: string, email: string, options: DeletionOptions): Promise<DeletionReport> {
    if (email.trim() === '') throw invalidArgument('--email must not be empty');
    const ws = await this.workspace(workspace);
    return this.run(
      'developer.purge',
      { workspaceId: ws.id, email },
      { by: 'developer', workspaceId: ws.id, email },
      options,
    );
  }

  async deleteWorkspace(workspace: string, options: DeletionOptions): Promise<DeletionReport> {
    const ws = await this.workspace(workspace);
    const db = this.deps.db;
    if (!options.dryRun) {
      // No collector of the workspace may add sessions while it goes.
      const active = await db.selectFrom('collectors').select('id').where('workspace_id', '=', ws.id).where('is_active', '=', true).execute();
      for (const c of active) {
        await updateCollector(db, c.id, { is_active: false, revoked_at: new Date(this.clock.now()) });
        this.deps.onCollectorChanged?.(c.id);
      }
    }
    return this.run('workspace.delete', { workspaceId: ws.id, slug: ws.slug }, { by: 'workspace', workspaceId: ws.id }, options, async (counts) => {
      if (options.dryRun) {
        const projects = await db.selectFrom('projects').select(db.fn.countAll<string>().as('n')).where('workspace_id', '=', ws.id).executeTakeFirstOrThrow();
        const developers = await db.selectFrom('developers').select(db.fn.countAll<string>().as('n')).where('workspace_id', '=', ws.id).executeTakeFirstOrThrow();
        const collectors = await db.selectFrom('collectors').select(db.fn.countAll<string>().as('n')).where('workspace_id', '=', ws.id).executeTakeFirstOrThrow();
        const batches = await db.selectFrom('ingest_batches').select(db.fn.countAll<string>().as('n')).where('workspace_id', '=', ws.id).executeTakeFirstOrThrow();
        // Dimension rows the sessions count already includes are not counted twice.
        counts.projects = Number(projects.n);
        counts.developers = Number(developers.n);
        counts.collectors += Number(collectors.n);
        counts.idempotencyRecords += Number(batches.n);
        counts.workspaces += 1;
        return;
      }
      const rest = await retrying(this.deps.logger, () =>
        db.transaction().execute(async (trx) => {
          const dims = await deleteUnreferencedDimensions(trx, await workspaceDimensionIds(trx, ws.id));
          return { ...dims, ...(await deleteWorkspaceRows(trx, ws.id)) };
        }),
      );
      addCounts(counts, rest);
    });
  }

  sweepRetention(): Promise<DeletionReport> {
    return this.deps.sweeper.sweep();
  }

  /** Deletes (or counts) the selector's sessions, runs `extra`, and records the audit entry. */
  private async run(
    action: string,
    target: Record<string, string>,
    selector: SessionSelector,
    options: DeletionOptions,
    extra?: (counts: ReturnType<typeof emptyCounts>) => Promise<void>,
  ): Promise<DeletionReport> {
    const db = this.deps.db;
    let counts = emptyCounts();
    if (options.dryRun) addCounts(counts, await countSessionData(db, selector));
    else counts = (await deleteSelected(db, this.deps.logger, selector, { batchSessions: this.deps.batchSessions })).counts;
    await extra?.(counts);
    if (!options.dryRun) {
      const entry: AdminAuditEntry = { actor: options.actor, action, target, counts: { ...counts } };
      await insertAdminAudit(db, entry);
      this.deps.logger.info({ action, target, counts, actor: options.actor }, 'data deleted on request');
    }
    return { action, dryRun: !!options.dryRun, target, counts };
  }

  private async workspace(idOrSlug: string) {
    const ws = await findWorkspace(this.deps.db, idOrSlug);
    if (!ws) throw notFound(`workspace ${JSON.stringify(idOrSlug)} not found`);
    return ws;
  }
}

function checkUuid(id: string, what: string): string {
  if (!UUID_PATTERN.test(id)) throw invalidArgument(`${what} ${JSON.stringify(id)} is not a UUID`);
  return id.toLowerCase();
}

function limitOf(limit: number | undefined): number {
  if (limit === undefined || limit === 0) return DEFAULT_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 0 || limit > MAX_LIMIT) {
    throw new DomainError('invalid_argument', `limit must be between 1 and ${MAX_LIMIT}`);
  }
  return limit;
}

const nsToIso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();

function toSummary(r: SessionCatalogRow): SessionSummary {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    workspaceSlug: r.workspace_slug,
    assistant: assistantToJSON(r.assistant as Assistant),
    sourceSessionId: r.source_session_id,
    collectorId: r.collector_id,
    collectorName: r.collector_name,
    project: r.project_name === null ? null : r.project_name || r.project_path,
    developer:
      r.developer_username === null ? null : r.developer_email ? `${r.developer_username} <${r.developer_email}>` : r.developer_username,
    threads: r.threads,
    messages: r.messages,
    startedAt: nsToIso(r.started_at_ns),
    lastActivityAt: nsToIso(r.last_activity_at_ns),
  };
}
