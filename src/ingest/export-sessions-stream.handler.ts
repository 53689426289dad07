import { randomUUID } from 'node:crypto';
import type { CallAudit } from '../audit/batch-audit';
import { DomainError } from '../errors/domain-error';
import type { CallContext } from '../identity/call-context';
import type { ExportSessionsResponse, Session, SessionBatch } from '../../generated/catsyphon/telemetry/v1/sessions';
import { BatchTally, encodeResponse } from './batch-response';
import { type OwnedBatch, payloadMismatch } from './idempotency.service';
import { SessionHasher } from './request-hash';
import { checkBatchId, checkSessionCount } from './batch-request.checks';
import { admitCollector, recordCommitted, withCallAudit } from './export.accounting';
import type { ExportDeps } from './export.deps';
import { abortable } from './abortable';
import { ingestBatch } from './ingest.service';

export const BATCH_ID_HEADER = 'x-batch-id';

/**
 * ExportSessionsStream: sessions are stored in chunks of
 * INGEST_STREAM_CHUNK_SESSIONS as they arrive, one transaction per chunk.
 * The next message is read only after the chunk is stored, so the database
 * paces the client (grpc-js reads on demand) and memory stays bounded.
 * With an `x-batch-id` header the stream is idempotent like the unary call.
 */
export function exportSessionsStreamHandler(deps: ExportDeps) {
  return (stream: AsyncIterable<SessionBatch>, ctx: CallContext): Promise<ExportSessionsResponse | Buffer> =>
    withCallAudit(deps, ctx, (audit) => exportStream(deps, stream, ctx, audit));
}

async function exportStream(
  deps: ExportDeps,
  stream: AsyncIterable<SessionBatch>,
  ctx: CallContext,
  audit: CallAudit,
): Promise<ExportSessionsResponse | Buffer> {
  const header = ctx.metadata.get(BATCH_ID_HEADER)[0];
  const given = header === undefined ? undefined : String(header);
  if (given !== undefined) checkBatchId(given, `${BATCH_ID_HEADER} metadata`);
  const batchId = given ?? randomUUID();
  audit.batchId = batchId;
  admitCollector(deps.metrics, deps.activity, ctx.caller, undefined);

  const key = { workspaceId: ctx.caller.workspaceId, batchId };
  const claim = given === undefined ? undefined : await deps.idempotency.acquire(key, undefined, ctx.signal);
  const hasher = new SessionHasher();
  if (claim?.kind === 'done') {
    // Read (and hash) what the client sends without storing anything, then replay.
    for await (const batch of abortable(stream, ctx.signal)) for (const s of batch.sessions) hasher.add(s);
    audit.requestBytes = hasher.bytes;
    if (!hasher.digest().equals(claim.requestHash)) throw payloadMismatch(batchId);
    audit.replayed = true;
    deps.metrics.idempotentReplay();
    return claim.response;
  }
  const owned: OwnedBatch | undefined = claim;
  try {
    const tally = new BatchTally();
    let chunk: Session[] = [];
    let received = 0;
    const store = async (sessions: Session[], last: boolean): Promise<Buffer | undefined> => {
      let encoded: Buffer | undefined;
      const outcome = await ingestBatch(deps.transaction, ctx.caller, sessions, {
        limits: deps.settings.limits,
        logger: ctx.logger,
        dimensions: deps.dimensions,
        firstIndex: received - sessions.length,
        // May run more than once: the transaction is retried after a deadlock.
        beforeCommit: async (trx, outcome) => {
          if (!last) return;
          throwIfCancelled(ctx.signal);
          encoded = encodeResponse(tally.including(outcome.results, outcome.totalMessages).response(batchId));
          await owned?.complete(trx, hasher.digest(), encoded);
        },
      });
      tally.add(outcome.results, outcome.totalMessages);
      recordCommitted(deps.metrics, outcome.results);
      audit.messagesIn += outcome.totalMessages;
      audit.addResults(outcome.results);
      return encoded;
    };
    for await (const batch of abortable(stream, ctx.signal)) {
      checkSessionCount(batch.sessions.length, deps.settings.maxSessionsPerBatch);
      for (const s of batch.sessions) {
        hasher.add(s);
        chunk.push(s);
        received++;
        audit.sessionsIn = received;
        audit.requestBytes = hasher.bytes;
        if (chunk.length >= deps.settings.streamChunkSessions) {
          await store(chunk, false);
          chunk = [];
        }
      }
    }
    // A client cancel (RST_STREAM) first ends the stream like a half-close and
    // is reported as a cancel a moment later. With an idempotency record at
    // stake, give it that moment (and check again before commit), so a
    // truncated batch is never recorded as done.
    if (owned) await cancelGrace(ctx.signal);
    throwIfCancelled(ctx.signal);
    const encoded = await store(chunk, true);
    owned?.finish();
    return encoded as Buffer;
  } catch (err) {
    await owned?.release();
    throw err;
  }
}

function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new DomainError('aborted', 'stream cancelled by the client');
}

/** How long an idempotent stream waits after its end for a cancel that raced it. */
const CANCEL_GRACE_MS = 50;

function cancelGrace(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, CANCEL_GRACE_MS);
    signal.addEventListener('abort', done, { once: true });
  });
}
