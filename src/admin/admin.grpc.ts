import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { AdminServiceService } from '../../generated/catsyphon/admin/v1/admin';
import type { AdminKeyAuthenticator } from '../auth/admin-key.authenticator';
import type { CollectorService } from '../collectors/collector.service';
import type { RpcDeps } from '../grpc/rpc';
import type { ServiceRegistration } from '../grpc/server';
import { adminServiceImplementation } from './admin.handlers';
import { scopedOperations } from './admin-scope';

export const ADMIN_SERVICE = 'catsyphon.admin.v1.AdminService';

export interface NetworkAdminDeps {
  readonly collectors: CollectorService;
  readonly authenticator: Pick<AdminKeyAuthenticator, 'authenticate'>;
}

/**
 * The admin service on the gRPC port (ADMIN_API=on): the same operations as
 * the admin socket, for callers with an admin key (`authorization: Bearer
 * cs_admin_…`). A workspace-scoped key runs them through scopedOperations.
 * Each call is logged once with the key's name (never the key), counted in
 * the in-flight calls the server drains on shutdown, and reported to the
 * RPC observer. The data-lifecycle RPCs of AdminService are not served here
 * yet (grpc-js answers them UNIMPLEMENTED): they stay on the admin socket
 * until they check a scoped key's workspace and record the key as the actor.
 */
export function networkAdminGrpc(deps: NetworkAdminDeps, rpc: RpcDeps): ServiceRegistration {
  const implementation = adminServiceImplementation(
    {
      begin: async (call, op) => {
        const admin = await deps.authenticator.authenticate(call.metadata);
        const logger = rpc.logger.child({
          method: op,
          requestId: randomUUID(),
          adminKey: admin.keyName,
          adminKeyId: admin.keyId,
          workspaceId: admin.workspaceId ?? undefined,
        });
        return { ops: scopedOperations(deps.collectors, admin.workspaceId), logger };
      },
    },
    rpc.logger.child({ component: 'admin-api' }),
    rpc.statusPolicy,
  );
  // Wraps each method so in-flight tracking and the observer see every call, refused ones too.
  const tracked = Object.fromEntries(
    Object.entries(implementation).map(([name, handler]) => [
      name,
      (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const started = process.hrtime.bigint();
        const leave = rpc.inFlight?.enter();
        const method = AdminServiceService[name as keyof typeof AdminServiceService].path.split('/').pop() ?? name;
        (handler as grpc.handleUnaryCall<unknown, unknown>)(call, (err, value) => {
          callback(err, value);
          leave?.();
          rpc.observer?.onRpcEnd(method, err?.code ?? 0, Number(process.hrtime.bigint() - started) / 1e6);
        });
      },
    ]),
  );
  return { name: ADMIN_SERVICE, definition: AdminServiceService, implementation: tracked };
}
