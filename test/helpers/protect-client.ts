import * as grpc from '@grpc/grpc-js';
import { decodeStatusDetails, type DecodedStatusDetails } from '../../src/grpc/retry-info';
import {
  type ExportSessionsRequest,
  type ExportSessionsResponse,
  ExportSessionsRequest as Request,
  type Session,
  SessionBatch,
  type SessionIngestionClient,
} from '../../generated/catsyphon/telemetry/v1/sessions';

/** Sessions with `messages` messages spread over one thread each (at most 50 per session). */
export function sessionsWithMessages(messages: number, prefix = 's'): Session[] {
  const sessions: Session[] = [];
  for (let i = 0; messages > 0; i++) {
    const n = Math.min(50, messages);
    messages -= n;
    sessions.push(
      Request.fromPartial({
        sessions: [
          {
            id: `${prefix}-${i}`,
            assistant: 1,
            threads: [
              {
                id: 'main',
                type: 1,
                messages: Array.from({ length: n }, (_, k) => ({
                  seq: k + 1,
                  authorRole: 1,
                  messageType: 1,
                  content: `message ${k + 1}`,
                })),
              },
            ],
          },
        ],
      }).sessions[0],
    );
  }
  return sessions;
}

export function request(batchId: string, sessions: Session[]): ExportSessionsRequest {
  return Request.fromPartial({ batchId, sessions });
}

export function bearer(token: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

export interface CallOutcome {
  readonly code: grpc.status;
  readonly details: string;
  readonly statusDetails: DecodedStatusDetails | undefined;
  readonly response: ExportSessionsResponse | undefined;
}

/** Calls ExportSessions and returns the outcome, success or failure, with decoded status details. */
export function exportOutcome(
  client: SessionIngestionClient,
  req: ExportSessionsRequest,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions> = {},
): Promise<CallOutcome> {
  return new Promise((resolve) => {
    client.exportSessions(req, metadata, options, (err, response) => resolve(outcome(err, response)));
  });
}

/** Streams the chunks on ExportSessionsStream and returns the outcome. */
export function streamOutcome(
  client: SessionIngestionClient,
  chunks: Session[][],
  metadata: grpc.Metadata,
): Promise<CallOutcome> {
  return new Promise((resolve) => {
    const call = client.exportSessionsStream(metadata, (err, response) => resolve(outcome(err, response)));
    call.on('error', () => undefined);
    for (const sessions of chunks) call.write(SessionBatch.fromPartial({ sessions }));
    call.end();
  });
}

export function outcome(err: grpc.ServiceError | null, response?: ExportSessionsResponse): CallOutcome {
  if (!err) return { code: grpc.status.OK, details: '', statusDetails: undefined, response };
  const bin = err.metadata?.get('grpc-status-details-bin')[0];
  return {
    code: err.code,
    details: err.details,
    statusDetails: Buffer.isBuffer(bin) ? decodeStatusDetails(bin) : undefined,
    response: undefined,
  };
}
