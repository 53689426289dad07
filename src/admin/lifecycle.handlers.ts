import type * as grpc from '@grpc/grpc-js';
import type { AdminServiceServer } from '../../generated/catsyphon/admin/v1/admin';
import type { LifecycleApi } from '../lifecycle/lifecycle-api';
import { batchToMessage, reportToMessage, sessionToMessage } from './lifecycle.mapper';

type Handle = <Req, Res>(op: string, fn: (request: Req) => Promise<Res>) => grpc.handleUnaryCall<Req, Res>;

/** The admin socket's data-lifecycle operations; `handle` maps errors and logs as for the others. */
export function lifecycleHandlers(
  api: LifecycleApi,
  handle: Handle,
): Pick<
  AdminServiceServer,
  | 'updateWorkspace'
  | 'listBatches'
  | 'getBatch'
  | 'listSessions'
  | 'getStoredSession'
  | 'deleteSessions'
  | 'purgeCollector'
  | 'purgeDeveloper'
  | 'deleteWorkspace'
  | 'sweepRetention'
> {
  const ms = (v: bigint | undefined) => (v === undefined ? undefined : Number(v));
  // The socket is mode 0600: whoever reaches it is the server's own user; the CLI says which.
  const actor = (given: string) => `${given || 'unknown'} via admin socket`;
  return {
    updateWorkspace: handle('UpdateWorkspace', async (req) => {
      const view = await api.setRetention(req.workspace, req.retentionMs !== undefined ? Number(req.retentionMs) : null);
      return {
        workspaceId: view.workspaceId,
        slug: view.slug,
        retentionMs: view.retentionMs === null ? undefined : BigInt(view.retentionMs),
      };
    }),
    listBatches: handle('ListBatches', async (req) => ({
      batches: (
        await api.listBatches({
          workspace: req.workspace,
          collector: req.collector,
          sinceMs: ms(req.sinceMs),
          status: req.status === 'failed' || req.status === 'ok' ? req.status : undefined,
          limit: req.limit,
        })
      ).map(batchToMessage),
    })),
    getBatch: handle('GetBatch', async (req) => ({ batches: (await api.showBatch(req.batchId)).map(batchToMessage) })),
    listSessions: handle('ListSessions', async (req) => ({
      sessions: (
        await api.listSessions({
          workspace: req.workspace,
          collector: req.collector,
          sinceMs: ms(req.sinceMs),
          assistant: req.assistant,
          limit: req.limit,
        })
      ).map(sessionToMessage),
    })),
    getStoredSession: handle('GetStoredSession', async (req) => {
      const stored = await api.showSession(req.id);
      return { summary: sessionToMessage(stored.summary), session: stored.response };
    }),
    deleteSessions: handle('DeleteSessions', async (req) => ({
      report: reportToMessage(await api.deleteSessions(req.sessionIds, { dryRun: req.dryRun, actor: actor(req.actor) })),
    })),
    purgeCollector: handle('PurgeCollector', async (req) => ({
      report: reportToMessage(
        await api.purgeCollector(req.collectorId, {
          dryRun: req.dryRun,
          deleteCollector: req.deleteCollector,
          actor: actor(req.actor),
        }),
      ),
    })),
    purgeDeveloper: handle('PurgeDeveloper', async (req) => ({
      report: reportToMessage(await api.purgeDeveloper(req.workspace, req.email, { dryRun: req.dryRun, actor: actor(req.actor) })),
    })),
    deleteWorkspace: handle('DeleteWorkspace', async (req) => ({
      report: reportToMessage(await api.deleteWorkspace(req.workspace, { dryRun: req.dryRun, actor: actor(req.actor) })),
    })),
    sweepRetention: handle('SweepRetention', async () => ({ report: reportToMessage(await api.sweepRetention()) })),
  };
}
