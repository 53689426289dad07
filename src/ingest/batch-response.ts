import {
  BatchStatus,
  ExportSessionsResponse,
  type SessionResult,
  SessionStatus,
} from '../../generated/catsyphon/telemetry/v1/sessions';

/** Adds up session results into the batch status and metrics. */
export class BatchTally {
  readonly results: SessionResult[] = [];
  private totalMessages = 0;

  constructor(private readonly started = process.hrtime.bigint()) {}

  /** Adds the results of a committed transaction. */
  add(results: readonly SessionResult[], totalMessages: number): void {
    for (const r of results) this.results.push(r);
    this.totalMessages += totalMessages;
  }

  /**
   * This tally plus results not committed yet (the response is stored inside
   * the transaction, which may still be retried), leaving this one unchanged.
   */
  including(results: readonly SessionResult[], totalMessages: number): BatchTally {
    const out = new BatchTally(this.started);
    out.add(this.results, this.totalMessages);
    out.add(results, totalMessages);
    return out;
  }

  response(batchId: string): ExportSessionsResponse {
    const count = (status: SessionStatus) => this.results.filter((r) => r.status === status).length;
    const failed = count(SessionStatus.SESSION_STATUS_FAILED);
    const status =
      failed === 0
        ? BatchStatus.BATCH_STATUS_ACCEPTED
        : failed === this.results.length
          ? BatchStatus.BATCH_STATUS_REJECTED
          : BatchStatus.BATCH_STATUS_PARTIAL;
    return {
      batchId,
      status,
      results: this.results,
      metrics: {
        processingTimeMs: (process.hrtime.bigint() - this.started) / 1_000_000n,
        sessionsCreated: count(SessionStatus.SESSION_STATUS_CREATED),
        sessionsUpdated: count(SessionStatus.SESSION_STATUS_UPDATED),
        sessionsDuplicate: count(SessionStatus.SESSION_STATUS_DUPLICATE),
        sessionsFailed: failed,
        totalMessages: this.totalMessages,
      },
    };
  }
}

/** The encoded response: stored for replays and sent as is. */
export function encodeResponse(response: ExportSessionsResponse): Buffer {
  const bytes = ExportSessionsResponse.encode(response).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
