import type { Kysely } from 'kysely';
import { insertAdminAudit, pruneAudit } from '../audit/audit.repository';
import type { DB } from '../db/schema';
import type { Logger } from '../logging/logger';
import { retentionCutoffs } from './deletion.repository';
import { addCounts, type DeletionCounts, type DeletionReport, emptyCounts } from './lifecycle-api';
import { deleteSelected } from './session-deleter';

export interface RetentionSweeperDeps {
  readonly db: Kysely<DB>;
  readonly logger: Logger;
  /** Sessions per transaction. */
  readonly batchSessions: number;
  /** Audit rows older than this are pruned by each sweep. */
  readonly auditRetentionMs: number;
  /** Counts what a sweep deleted (catsyphon_ingest_retention_deleted_total). */
  readonly onDeleted?: (counts: DeletionCounts) => void;
}

export const SWEEPER_ACTOR = 'retention-sweeper';
/** Audit rows pruned per statement. */
const PRUNE_BATCH = 5_000;

/**
 * Deletes sessions whose last activity is older than their workspace's
 * retention, in transactions of `batchSessions` sessions, and prunes audit
 * rows past AUDIT_RETENTION. Each transaction first takes an advisory lock,
 * so replicas never sweep at the same time; a replica that does not get it
 * ends its sweep (the holder is doing the work).
 */
export class RetentionSweeper {
  private readonly logger: Logger;
  private running: Promise<DeletionReport> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: RetentionSweeperDeps) {
    this.logger = deps.logger.child({ component: 'retention' });
  }

  /** One sweep; a call while one runs joins it. */
  sweep(): Promise<DeletionReport> {
    this.running ??= this.sweepOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async sweepOnce(): Promise<DeletionReport> {
    const { db } = this.deps;
    const total = emptyCounts();
    for (const ws of await retentionCutoffs(db)) {
      const outcome = await deleteSelected(
        db,
        this.logger,
        { by: 'inactive', workspaceId: ws.id, lastActivityBeforeNs: ws.cutoffNs },
        { batchSessions: this.deps.batchSessions, sweeper: true },
      );
      if (outcome.counts.sessions > 0 || outcome.counts.projects + outcome.counts.developers > 0) {
        addCounts(total, outcome.counts);
        this.deps.onDeleted?.(outcome.counts);
        await insertAdminAudit(db, {
          actor: SWEEPER_ACTOR,
          action: 'retention.sweep',
          target: { workspaceId: ws.id, slug: ws.slug },
          counts: { ...outcome.counts },
        });
        this.logger.info({ workspaceId: ws.id, slug: ws.slug, counts: outcome.counts }, 'retention sweep deleted sessions');
      }
      if (outcome.locked) {
        this.logger.debug('another replica is sweeping; this sweep ends');
        break;
      }
    }
    for (const table of ['ingest_audit', 'admin_audit'] as const) {
      let pruned = 0;
      for (let n = PRUNE_BATCH; n === PRUNE_BATCH; pruned += n) {
        n = await pruneAudit(db, table, this.deps.auditRetentionMs, PRUNE_BATCH);
      }
      if (pruned > 0) this.logger.info({ table, pruned }, 'audit records past AUDIT_RETENTION pruned');
    }
    return { action: 'retention.sweep', dryRun: false, target: {}, counts: total };
  }

  /** Sweeps every `intervalMs` in the background. */
  start(intervalMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.sweep().catch((err) => this.logger.warn({ err: String(err) }, 'retention sweep failed'));
    }, intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }
}
