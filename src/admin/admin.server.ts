import { chmodSync, rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { AdminServiceService } from '../../generated/catsyphon/admin/v1/admin';
import { AdminKeyServiceService, type AdminKeyServiceServer } from '../../generated/catsyphon/admin/v1/admin_keys';
import type { AdminKeyService } from '../collectors/admin-key.service';
import type { CollectorService } from '../collectors/collector.service';
import { type StatusPolicy, toServiceError } from '../grpc/status';
import type { LifecycleApi } from '../lifecycle/lifecycle-api';
import type { Logger } from '../logging/logger';
import { adminKeyToMessage } from './admin-key.mapper';
import { adminServiceImplementation } from './admin.handlers';
import { lifecycleHandlers } from './lifecycle.handlers';
import { localOperations } from './local-admin';

export interface AdminServer {
  readonly socketPath: string;
  stop(): Promise<void>;
}

/**
 * Serves the admin API on a Unix socket (mode 0600) for the CLI, while this
 * process holds the embedded database: workspaces, collectors and the data
 * lifecycle (AdminService, unscoped: file permissions are the access control) and admin
 * keys (AdminKeyService, served nowhere else). The caller must hold the data
 * directory's lock: a socket file left by a crashed server is removed.
 */
export async function startAdminServer(
  socketPath: string,
  services: { collectors: CollectorService; adminKeys: AdminKeyService; lifecycle: LifecycleApi },
  parentLogger: Logger,
  statusPolicy: StatusPolicy,
): Promise<AdminServer> {
  const logger = parentLogger.child({ component: 'admin' });
  const server = new grpc.Server();
  const ops = localOperations(services.collectors);
  const handle = socketHandle(logger, statusPolicy);
  server.addService(AdminServiceService, {
    ...lifecycleHandlers(services.lifecycle, handle),
    ...adminServiceImplementation({ begin: async () => ({ ops, logger }) }, logger, statusPolicy),
  });
  server.addService(AdminKeyServiceService, adminKeyHandlers(services.adminKeys, handle));
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

type SocketHandle = <Req, Res>(op: string, fn: (request: Req) => Promise<Res>) => grpc.handleUnaryCall<Req, Res>;

/** Runs one socket operation; errors become statuses as on the public port. */
function socketHandle(logger: Logger, statusPolicy: StatusPolicy): SocketHandle {
  return <Req, Res>(op: string, fn: (request: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> =>
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
}

function adminKeyHandlers(keys: AdminKeyService, handle: SocketHandle): AdminKeyServiceServer {
  return {
    createAdminKey: handle('CreateAdminKey', async (req) => {
      const issued = await keys.create({
        name: req.name,
        workspace: req.workspace,
        expiresInMs: req.expiresInMs === undefined ? undefined : Number(req.expiresInMs),
      });
      return { adminKey: adminKeyToMessage(issued.adminKey), key: issued.key };
    }),
    listAdminKeys: handle('ListAdminKeys', async () => ({ adminKeys: (await keys.list()).map(adminKeyToMessage) })),
    revokeAdminKey: handle('RevokeAdminKey', async (req) => ({ adminKey: adminKeyToMessage(await keys.revoke(req.id)) })),
  };
}
