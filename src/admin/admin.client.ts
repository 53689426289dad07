import { existsSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { AdminServiceClient } from '../../generated/catsyphon/admin/v1/admin';
import { AdminKeyServiceClient } from '../../generated/catsyphon/admin/v1/admin_keys';
import type { IssuedKey } from '../collectors/collector.views';
import type { AdminApi, AdminKeyApi } from './admin-api';
import { adminKeyFromMessage } from './admin-key.mapper';
import { collectorFromMessage, workspaceFromMessage } from './admin.mapper';
import { remoteLifecycle } from './lifecycle.client';

/** An admin operation the server refused; the message is the server's own. */
export class AdminCallError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
    this.name = 'AdminCallError';
  }
}

const CALL_TIMEOUT_MS = 60_000;

/**
 * Connects to a running server's admin socket. Resolves undefined when no
 * server answers there within `connectTimeoutMs` (no socket file, or a stale
 * one left by a crashed server).
 */
export async function connectAdmin(socketPath: string, connectTimeoutMs: number): Promise<AdminApi | undefined> {
  if (!existsSync(socketPath)) return undefined;
  // A private subchannel: a failed probe must not leave a shared one in backoff for the next try.
  const client = new AdminServiceClient(`unix:${socketPath}`, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  });
  const ready = await new Promise<boolean>((resolve) =>
    client.waitForReady(Date.now() + connectTimeoutMs, (err) => resolve(!err)),
  );
  if (!ready) {
    client.close();
    return undefined;
  }
  const keys = new AdminKeyServiceClient(`unix:${socketPath}`, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  });
  const api = remoteAdmin(client, () => new grpc.Metadata(), 'server');
  return {
    ...api,
    ...socketAdminKeys(keys),
    close: async () => {
      keys.close();
      await api.close();
    },
  };
}

export interface NetworkAdminOptions {
  /** host:port of a server running with ADMIN_API=on. */
  readonly address: string;
  /** The admin key (cs_admin_…), sent as `authorization: Bearer`. */
  readonly adminKey: string;
  /** Plaintext or TLS credentials (the CLI builds them from --tls/--ca/--cert/--key). */
  readonly credentials: grpc.ChannelCredentials;
  readonly channelOptions?: grpc.ChannelOptions;
}

/**
 * The admin operations on a server's gRPC port (ADMIN_API=on), with an admin
 * key. Admin keys themselves cannot be managed this way (no admin-key methods).
 */
export function networkAdmin(options: NetworkAdminOptions): AdminApi {
  const client = new AdminServiceClient(options.address, options.credentials, options.channelOptions ?? {});
  return remoteAdmin(
    client,
    () => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${options.adminKey}`);
      return metadata;
    },
    'network',
  );
}

type UnaryMethod<Req, Res> = (
  req: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  cb: (err: grpc.ServiceError | null, res: Res) => void,
) => unknown;

function caller(client: grpc.Client, metadata: () => grpc.Metadata) {
  return <Req, Res>(method: UnaryMethod<Req, Res>, request: Req): Promise<Res> =>
    new Promise((resolve, reject) => {
      method.call(client, request, metadata(), { deadline: Date.now() + CALL_TIMEOUT_MS }, (err, res) =>
        err ? reject(new AdminCallError(err.code, err.details || err.message)) : resolve(res),
      );
    });
}

function socketAdminKeys(client: AdminKeyServiceClient): AdminKeyApi {
  const call = caller(client, () => new grpc.Metadata());
  return {
    createAdminKey: async (input) => {
      const res = await call(client.createAdminKey, {
        name: input.name,
        workspace: input.workspace,
        expiresInMs: input.expiresInMs === undefined ? undefined : BigInt(input.expiresInMs),
      });
      return { adminKey: adminKeyFromMessage(res.adminKey), key: res.key };
    },
    listAdminKeys: async () => (await call(client.listAdminKeys, {})).adminKeys.map((k) => adminKeyFromMessage(k)),
    revokeAdminKey: async (id) => adminKeyFromMessage((await call(client.revokeAdminKey, { id })).adminKey),
  };
}

function remoteAdmin(client: AdminServiceClient, metadata: () => grpc.Metadata, via: 'server' | 'network'): AdminApi {
  const call = caller(client, metadata);
  const issued = (res: { collector?: Parameters<typeof collectorFromMessage>[0]; apiKey: string }): IssuedKey => ({
    collector: collectorFromMessage(res.collector),
    apiKey: res.apiKey,
  });

  return {
    via,
    lifecycle: remoteLifecycle(client, call),
    createWorkspace: async (input) => {
      const res = await call(client.createWorkspace, { name: input.name, slug: input.slug ?? '' });
      if (!res.workspace) throw new Error('the server answered without a workspace');
      return workspaceFromMessage(res.workspace);
    },
    listWorkspaces: async () => (await call(client.listWorkspaces, {})).workspaces.map(workspaceFromMessage),
    createCollector: async (input) =>
      issued(
        await call(client.createCollector, {
          workspace: input.workspace,
          name: input.name,
          type: input.type ?? '',
          expiresInMs: input.expiresInMs === undefined ? undefined : BigInt(input.expiresInMs),
        }),
      ),
    listCollectors: async (workspace) =>
      (await call(client.listCollectors, { workspace })).collectors.map((c) => collectorFromMessage(c)),
    rotateKey: async (id) => issued(await call(client.rotateCollectorKey, { collectorId: id })),
    revokeCollector: async (id) => collectorFromMessage((await call(client.revokeCollector, { collectorId: id })).collector),
    updateCollector: async (id, input) =>
      collectorFromMessage(
        (
          await call(client.updateCollector, {
            collectorId: id,
            name: input.name,
            expiresInMs: typeof input.expiresInMs === 'number' ? BigInt(input.expiresInMs) : undefined,
            clearExpiry: input.expiresInMs === null,
            rateLimitRequestsPerMin: input.rateLimits?.requestsPerMin ?? undefined,
            rateLimitMessagesPerMin: input.rateLimits?.messagesPerMin ?? undefined,
            clearRateLimitRequests: input.rateLimits?.requestsPerMin === null,
            clearRateLimitMessages: input.rateLimits?.messagesPerMin === null,
          })
        ).collector,
      ),
    close: async () => client.close(),
  };
}
