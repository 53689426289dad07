import type { Kysely } from 'kysely';
import type { DB } from '../db/schema';
import type { Logger } from '../logging/logger';
import { insertBatchAudits } from './audit.repository';
import type { BatchAuditRecord, BatchAuditSink } from './batch-audit';

/** Rows per INSERT: 16 parameters each, well under PostgreSQL's 65,535. */
const ROWS_PER_INSERT = 1_000;
/** Records held while the database is unreachable; the oldest are dropped (and counted) beyond it. */
const MAX_PENDING = 50_000;

/**
 * Appends audit records in bulk, off the ingest transaction: `append` only
 * queues; one flush at a time writes everything queued so far in one INSERT,
 * and the next starts as soon as it finishes. With little traffic a record
 * is written a moment after its call; under load many calls share one
 * statement, so the hot path pays a push to an array. A record is lost only
 * if the process dies before its flush (or MAX_PENDING is exceeded while the
 * database is down; both are logged).
 */
export class BatchAuditWriter implements BatchAuditSink {
  private pending: BatchAuditRecord[] = [];
  private flushing: Promise<void> | undefined;
  private dropped = 0;
  private closed = false;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly logger: Logger,
  ) {}

  append(record: BatchAuditRecord): void {
    if (this.closed) return;
    this.pending.push(record);
    if (this.pending.length > MAX_PENDING) {
      this.pending.shift();
      this.dropped++;
    }
    this.flushing ??= this.drain();
  }

  /** Resolves once everything appended before the call is written (or failed to be). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  /** Writes what is queued and stops accepting records. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  private async drain(): Promise<void> {
    // Let the calls finishing in this tick join the first statement.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      let failures = 0;
      while (this.pending.length > 0) {
        const batch = this.pending.slice(0, ROWS_PER_INSERT);
        try {
          await insertBatchAudits(this.db, batch);
          this.pending.splice(0, batch.length);
          failures = 0;
        } catch (err) {
          failures++;
          this.logger.warn({ err: String(err), records: this.pending.length }, 'writing batch audit records failed');
          // Keep them for the next append (the database may be back by then).
          if (failures >= 2) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      if (this.dropped > 0) {
        this.logger.error({ dropped: this.dropped }, 'batch audit records dropped while the database was unreachable');
        this.dropped = 0;
      }
    } finally {
      this.flushing = undefined;
    }
  }
}
