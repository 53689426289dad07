import * as grpc from '@grpc/grpc-js';
import type { AdminServiceServer } from '../../generated/catsyphon/admin/v1/admin';
import { type StatusPolicy, toServiceError } from '../grpc/status';
import type { Logger } from '../logging/logger';
import type { AdminOperations } from './admin-api';
import { collectorToMessage, workspaceToMessage } from './admin.mapper';

/** What one admin call runs on: its operations (scoped to its key, if any) and its logger. */
export interface AdminCallScope {
  readonly ops: AdminOperations;
  readonly logger: Logger;
}

/**
 * Prepares one call: the admin socket answers every call with the unscoped
 * operations; the network service authenticates the admin key first (and
 * throws a DomainError to refuse).
 */
export interface AdminCallHooks {
  begin(call: grpc.ServerUnaryCall<unknown, unknown>, op: string): Promise<AdminCallScope>;
}

/**
 * The grpc-js implementation of catsyphon.admin.v1.AdminService, shared by
 * the admin socket and the network admin service: each request is mapped to
 * one AdminOperations call, each error to a status by src/grpc/status.ts, and
 * each call is logged once (with the admin key's name when there is one).
 */
/** The workspace and collector methods of AdminService (the lifecycle ones live in lifecycle.handlers.ts). */
export type AdminCoreHandlers = Pick<
  AdminServiceServer,
  | 'createWorkspace'
  | 'listWorkspaces'
  | 'createCollector'
  | 'listCollectors'
  | 'rotateCollectorKey'
  | 'revokeCollector'
  | 'updateCollector'
>;

export function adminServiceImplementation(hooks: AdminCallHooks, fallbackLogger: Logger, statusPolicy: StatusPolicy): AdminCoreHandlers {
  const handle =
    <Req, Res>(op: string, fn: (ops: AdminOperations, request: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> =>
    (call, callback) => {
      let logger = fallbackLogger;
      const run = async () => {
        const scope = await hooks.begin(call as grpc.ServerUnaryCall<unknown, unknown>, op);
        logger = scope.logger;
        return fn(scope.ops, call.request);
      };
      run().then(
        (response) => {
          logger.info({ op }, 'admin operation');
          callback(null, response);
        },
        (err: unknown) => {
          const status = toServiceError(err, logger, statusPolicy);
          logger.info({ op, code: grpc.status[status.code] }, 'admin operation failed');
          callback(status);
        },
      );
    };

  return {
    createWorkspace: handle('CreateWorkspace', async (ops, req) => ({
      workspace: workspaceToMessage(await ops.createWorkspace({ name: req.name, slug: req.slug })),
    })),
    listWorkspaces: handle('ListWorkspaces', async (ops) => ({
      workspaces: (await ops.listWorkspaces()).map(workspaceToMessage),
    })),
    createCollector: handle('CreateCollector', async (ops, req) => {
      const issued = await ops.createCollector({
        workspace: req.workspace,
        name: req.name,
        type: req.type,
        expiresInMs: req.expiresInMs === undefined ? undefined : Number(req.expiresInMs),
      });
      return { collector: collectorToMessage(issued.collector), apiKey: issued.apiKey };
    }),
    listCollectors: handle('ListCollectors', async (ops, req) => ({
      collectors: (await ops.listCollectors(req.workspace)).map(collectorToMessage),
    })),
    rotateCollectorKey: handle('RotateCollectorKey', async (ops, req) => {
      const issued = await ops.rotateKey(req.collectorId);
      return { collector: collectorToMessage(issued.collector), apiKey: issued.apiKey };
    }),
    revokeCollector: handle('RevokeCollector', async (ops, req) => ({
      collector: collectorToMessage(await ops.revokeCollector(req.collectorId)),
    })),
    updateCollector: handle('UpdateCollector', async (ops, req) => ({
      collector: collectorToMessage(
        await ops.updateCollector(req.collectorId, {
          name: req.name,
          expiresInMs: req.expiresInMs !== undefined ? Number(req.expiresInMs) : req.clearExpiry ? null : undefined,
          rateLimits: {
            requestsPerMin: req.rateLimitRequestsPerMin ?? (req.clearRateLimitRequests ? null : undefined),
            messagesPerMin: req.rateLimitMessagesPerMin ?? (req.clearRateLimitMessages ? null : undefined),
          },
        }),
      ),
    })),
  };
}
