import { BatchTally, encodeResponse } from '../../src/ingest/batch-response';
import {
  BatchStatus,
  ErrorCode,
  ExportSessionsResponse,
  type SessionResult,
  SessionStatus,
} from '../../generated/catsyphon/telemetry/v1/sessions';

// Pure unit tests: no database, no server.
const result = (sessionId: string, status: SessionStatus, messagesIngested = 0): SessionResult => ({
  sessionId,
  catsyphonId: status === SessionStatus.SESSION_STATUS_FAILED ? '' : `id-${sessionId}`,
  status,
  error:
    status === SessionStatus.SESSION_STATUS_FAILED
      ? { code: ErrorCode.ERROR_CODE_VALIDATION, message: 'bad', field: 'sessions[0].id' }
      : undefined,
  messagesIngested,
  threadsIngested: 0,
});

describe('BatchTally', () => {
  test('an empty batch is accepted', () => {
    const response = new BatchTally().response('b');
    expect(response.status).toBe(BatchStatus.BATCH_STATUS_ACCEPTED);
    expect(response.results).toEqual([]);
    expect(response.metrics?.totalMessages).toBe(0);
  });

  test('counts each status and the messages received', () => {
    const tally = new BatchTally();
    tally.add([result('a', SessionStatus.SESSION_STATUS_CREATED, 3), result('b', SessionStatus.SESSION_STATUS_UPDATED, 1)], 4);
    tally.add([result('c', SessionStatus.SESSION_STATUS_DUPLICATE), result('d', SessionStatus.SESSION_STATUS_FAILED)], 6);
    const response = tally.response('batch-1');
    expect(response.batchId).toBe('batch-1');
    expect(response.status).toBe(BatchStatus.BATCH_STATUS_PARTIAL);
    expect(response.results.map((r) => r.sessionId)).toEqual(['a', 'b', 'c', 'd']);
    expect(response.metrics).toMatchObject({
      sessionsCreated: 1,
      sessionsUpdated: 1,
      sessionsDuplicate: 1,
      sessionsFailed: 1,
      totalMessages: 10,
    });
    expect(typeof response.metrics?.processingTimeMs).toBe('bigint');
  });

  test('all failed is rejected; none failed is accepted', () => {
    const failed = new BatchTally();
    failed.add([result('a', SessionStatus.SESSION_STATUS_FAILED), result('b', SessionStatus.SESSION_STATUS_FAILED)], 0);
    expect(failed.response('x').status).toBe(BatchStatus.BATCH_STATUS_REJECTED);
    const fine = new BatchTally();
    fine.add([result('a', SessionStatus.SESSION_STATUS_DUPLICATE)], 2);
    expect(fine.response('x').status).toBe(BatchStatus.BATCH_STATUS_ACCEPTED);
  });

  test('including() adds uncommitted results to a copy and leaves the tally as it was', () => {
    const tally = new BatchTally();
    tally.add([result('a', SessionStatus.SESSION_STATUS_CREATED, 2)], 2);
    const preview = tally.including([result('b', SessionStatus.SESSION_STATUS_FAILED)], 5);
    expect(preview.response('x').metrics).toMatchObject({ sessionsCreated: 1, sessionsFailed: 1, totalMessages: 7 });
    // A retried transaction asks again: the original is untouched.
    expect(tally.response('x').metrics).toMatchObject({ sessionsCreated: 1, sessionsFailed: 0, totalMessages: 2 });
    expect(tally.results).toHaveLength(1);
  });

  test('encodeResponse gives the wire bytes of the response', () => {
    const tally = new BatchTally();
    tally.add([result('a', SessionStatus.SESSION_STATUS_CREATED, 1)], 1);
    const response = tally.response('b');
    const bytes = encodeResponse(response);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect(ExportSessionsResponse.decode(bytes)).toEqual(response);
  });
});
