import type { CallAudit } from '../audit/batch-audit';
import type { CallContext } from '../identity/call-context';
import type { ExportSessionsRequest, ExportSessionsResponse } from '../../generated/catsyphon/telemetry/v1/sessions';
import { BatchTally, encodeResponse } from './batch-response';
import { peekOf } from './export-request.peek';
import { hashSessions } from './request-hash';
import { checkBatchId, checkSessionCount } from './batch-request.checks';
import { admitCollector, recordCommitted, withCallAudit } from './export.accounting';
import type { ExportDeps } from './export.deps';
import { ingestBatch } from './ingest.service';

/**
 * ExportSessions: validates the request, then either replays the stored
 * response of this (workspace, batch_id) or ingests the batch in one
 * transaction that also stores the encoded response. Returns the encoded
 * bytes, which the server sends untouched.
 */
export function exportSessionsHandler(deps: ExportDeps) {
  return (request: ExportSessionsRequest, ctx: CallContext): Promise<ExportSessionsResponse | Buffer> =>
    withCallAudit(deps, ctx, (audit) => exportSessions(deps, request, ctx, audit));
}

async function exportSessions(
  deps: ExportDeps,
  request: ExportSessionsRequest,
  ctx: CallContext,
  audit: CallAudit,
): Promise<ExportSessionsResponse | Buffer> {
  const peek = peekOf(request);
  audit.batchId = request.batchId;
  audit.requestBytes = peek?.bytes ?? 0;
  audit.sessionsIn = peek?.sessionCount ?? request.sessions.length;
  audit.messagesIn = peek?.messageCount ?? 0;
  checkBatchId(request.batchId, 'batch_id');
  checkSessionCount(peek?.sessionCount ?? request.sessions.length, deps.settings.maxSessionsPerBatch);
  admitCollector(deps.metrics, deps.activity, ctx.caller, request.collector);

  const key = { workspaceId: ctx.caller.workspaceId, batchId: request.batchId };
  // Only a batch this process has answered may be a resend: only then are the bytes digested.
  const wireDigest = deps.idempotency.holds(key) ? peek?.digest : undefined;
  // An exact resend of such a batch: no decoding, no hashing, no database.
  const resent = deps.idempotency.replayOf(key, wireDigest);
  if (resent) {
    audit.replayed = true;
    deps.metrics.idempotentReplay();
    return resent.response;
  }
  const requestHash = hashSessions(request.sessions);
  const claim = await deps.idempotency.acquire(key, requestHash, ctx.signal, wireDigest);
  if (claim.kind === 'done') {
    audit.replayed = true;
    ctx.logger.debug({ batchId: request.batchId }, 'replaying a stored batch response');
    deps.metrics.idempotentReplay();
    return claim.response;
  }
  try {
    const tally = new BatchTally();
    let encoded: Buffer | undefined;
    const outcome = await ingestBatch(deps.transaction, ctx.caller, request.sessions, {
      limits: deps.settings.limits,
      logger: ctx.logger,
      dimensions: deps.dimensions,
      // May run more than once: the transaction is retried after a deadlock.
      beforeCommit: async (trx, outcome) => {
        encoded = encodeResponse(tally.including(outcome.results, outcome.totalMessages).response(request.batchId));
        await claim.complete(trx, requestHash, encoded);
      },
    });
    claim.finish();
    recordCommitted(deps.metrics, outcome.results);
    audit.messagesIn = outcome.totalMessages;
    audit.addResults(outcome.results);
    return encoded as Buffer;
  } catch (err) {
    await claim.release();
    throw err;
  }
}
