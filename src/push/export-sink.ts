import type { Session } from '../../generated/catsyphon/telemetry/v1/sessions';
import type { IngestClient } from '../client/ingest.client';
import { buildReport } from '../client/results';
import type { BatchReport, ExportReport, SessionOutcome } from '../client/types';

/**
 * Collects sessions and exports them whenever `flushBytes` of input piled
 * up (the client splits each flush into batches), keeping one merged report
 * whose session indexes follow the order sessions were added.
 */
export class ExportSink {
  private pending: Session[] = [];
  private pendingBytes = 0;
  private sent = 0;
  private readonly results: SessionOutcome[] = [];
  private readonly batches: BatchReport[] = [];

  constructor(
    private readonly client: IngestClient,
    private readonly flushBytes: number,
    private readonly stream: boolean,
  ) {}

  async add(sessions: readonly Session[], inputBytes: number): Promise<void> {
    this.pending.push(...sessions);
    this.pendingBytes += inputBytes;
    if (this.pendingBytes >= this.flushBytes) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const sessions = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const report = this.stream ? await this.client.exportSessionsStream(sessions) : await this.client.exportSessions(sessions);
    const offset = this.sent;
    this.sent += sessions.length;
    this.results.push(...report.results.map((r) => ({ ...r, index: r.index + offset })));
    this.batches.push(...report.batches);
  }

  report(): ExportReport {
    return buildReport(this.results, this.batches);
  }
}
