import { chmodSync, rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { AdminServiceService, type AdminServiceServer } from '../../generated/catsyphon/admin/v1/admin';
import type { CollectorService } from '../collectors/collector.service';
import { type StatusPolicy, toServiceError } from '../grpc/status';
import type { Logger } from '../logging/logger';
import type { LifecycleApi } from '../lifecycle/lifecycle-api';
import { collectorToMessage, workspaceToMessage } from './admin.mapper';
import { lifecycleHandlers } from './lifecycle.handlers';

export interface AdminServer {
  readonly socketPath: string;
  stop(): Promise<void>;
}

/**
 * Serves the admin API on a Unix socket (mode 0600) for the CLI, while this
 * process holds the embedded database. The caller must hold the data
 * directory's lock: a socket file left by a crashed server is removed.
 */
export async function startAdminServer(
  socketPath: string,
  service: CollectorService,
  parentLogger: Logger,
  statusPolicy: StatusPolicy,
  lifecycle: LifecycleApi,
): Promise<AdminServer> {
  const logger = parentLogger.child({ component: 'admin' });
  const server = new grpc.Server();
  server.addService(AdminServiceService, adminHandlers(service, lifecycle, logger, statusPolicy));
  rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  chmodSync(socketPath, 0o600);
  logger.info({ socketPath }, 'admin socket listening (used by the catsyphon-ingest CLI)');
  let stopped: Promise<void> | undefined;
  return {
    socketPath,
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), 5_000).unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          rmSync(socketPath, { force: true });
          resolve();
        });
      });
      return stopped;
    },
  };
}

function adminHandlers(service: CollectorService, lifecycle: LifecycleApi, logger: Logger, statusPolicy: StatusPolicy): AdminServiceServer {
  /** Runs one admin operation; errors become statuses as on the public port. */
  const handle =
    <Req, Res>(op: string, fn: (request: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> =>
    (call, callback) => {
      fn(call.request).then(
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
    ...lifecycleHandlers(lifecycle, handle),
    createWorkspace: handle('CreateWorkspace', async (req) => ({
      workspace: workspaceToMessage(await service.createWorkspace({ name: req.name, slug: req.slug })),
    })),
    listWorkspaces: handle('ListWorkspaces', async () => ({
      workspaces: (await service.listWorkspaces()).map(workspaceToMessage),
    })),
    createCollector: handle('CreateCollector', async (req) => {
      const issued = await service.createCollector({
        workspace: req.workspace,
        name: req.name,
        type: req.type,
        expiresInMs: req.expiresInMs === undefined ? undefined : Number(req.expiresInMs),
      });
      return { collector: collectorToMessage(issued.collector), apiKey: issued.apiKey };
    }),
    listCollectors: handle('ListCollectors', async (req) => ({
      collectors: (await service.listCollectors(req.workspace)).map(collectorToMessage),
    })),
    rotateCollectorKey: handle('RotateCollectorKey', async (req) => {
      const issued = await service.rotateKey(req.collectorId);
      return { collector: collectorToMessage(issued.collector), apiKey: issued.apiKey };
    }),
    revokeCollector: handle('RevokeCollector', async (req) => ({
      collector: collectorToMessage(await service.revokeCollector(req.collectorId)),
    })),
    updateCollector: handle('UpdateCollector', async (req) => ({
      collector: collectorToMessage(
        await service.updateCollector(req.collectorId, {
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
