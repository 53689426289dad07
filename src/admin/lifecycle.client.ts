import type * as grpc from '@grpc/grpc-js';
import type { AdminServiceClient } from '../../generated/catsyphon/admin/v1/admin';
import type { LifecycleApi } from '../lifecycle/lifecycle-api';
import { batchFromMessage, reportFromMessage, sessionFromMessage } from './lifecycle.mapper';

/** One unary admin call as a promise (errors become AdminCallError). */
export type AdminCall = <Req, Res>(
  method: (
    req: Req,
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    cb: (err: grpc.ServiceError | null, res: Res) => void,
  ) => unknown,
  request: Req,
) => Promise<Res>;

/** The lifecycle operations run by a server, over its admin socket. */
export function remoteLifecycle(client: AdminServiceClient, call: AdminCall): LifecycleApi {
  const big = (v: number | undefined) => (v === undefined ? undefined : BigInt(v));
  return {
    listBatches: async (f) =>
      (
        await call(client.listBatches, {
          workspace: f.workspace,
          collector: f.collector,
          sinceMs: big(f.sinceMs),
          status: f.status ?? '',
          limit: f.limit ?? 0,
        })
      ).batches.map(batchFromMessage),
    showBatch: async (batchId) => (await call(client.getBatch, { batchId })).batches.map(batchFromMessage),
    listSessions: async (f) =>
      (
        await call(client.listSessions, {
          workspace: f.workspace,
          collector: f.collector,
          sinceMs: big(f.sinceMs),
          assistant: f.assistant,
          limit: f.limit ?? 0,
        })
      ).sessions.map(sessionFromMessage),
    showSession: async (id) => {
      const res = await call(client.getStoredSession, { id });
      if (!res.session) throw new Error('the server answered without a session');
      return { summary: sessionFromMessage(res.summary), response: res.session };
    },
    setRetention: async (workspace, retentionMs) => {
      const res = await call(client.updateWorkspace, {
        workspace,
        retentionMs: retentionMs === null ? undefined : BigInt(retentionMs),
        clearRetention: retentionMs === null,
      });
      return { workspaceId: res.workspaceId, slug: res.slug, retentionMs: res.retentionMs === undefined ? null : Number(res.retentionMs) };
    },
    deleteSessions: async (ids, o) =>
      reportFromMessage(await call(client.deleteSessions, { sessionIds: [...ids], dryRun: !!o.dryRun, actor: o.actor })),
    purgeCollector: async (collectorId, o) =>
      reportFromMessage(
        await call(client.purgeCollector, {
          collectorId,
          deleteCollector: !!o.deleteCollector,
          dryRun: !!o.dryRun,
          actor: o.actor,
        }),
      ),
    purgeDeveloper: async (workspace, email, o) =>
      reportFromMessage(await call(client.purgeDeveloper, { workspace, email, dryRun: !!o.dryRun, actor: o.actor })),
    deleteWorkspace: async (workspace, o) =>
      reportFromMessage(await call(client.deleteWorkspace, { workspace, dryRun: !!o.dryRun, actor: o.actor })),
    sweepRetention: async () => reportFromMessage(await call(client.sweepRetention, {})),
  };
}
