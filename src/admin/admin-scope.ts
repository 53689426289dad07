import type { CollectorService } from '../collectors/collector.service';
import { type DomainError, permissionDenied } from '../errors/domain-error';
import type { AdminOperations } from './admin-api';
import { localOperations } from './local-admin';

/**
 * The admin operations as an admin key may run them. An unscoped key
 * (workspaceId null) runs everything. A workspace-scoped key runs every
 * operation only on its own workspace and its collectors: it sees only that
 * workspace in lists, cannot create workspaces, and gets PERMISSION_DENIED
 * for anything else, including names that do not exist (so it cannot probe
 * other workspaces).
 */
export function scopedOperations(service: CollectorService, workspaceId: string | null): AdminOperations {
  const all = localOperations(service);
  if (workspaceId === null) return all;
  const outside = (): DomainError => permissionDenied('this admin key is limited to another workspace');
  const requireWorkspace = async (idOrSlug: string): Promise<void> => {
    const found = await service.getWorkspace(idOrSlug).catch(() => undefined);
    if (found?.id !== workspaceId) throw outside();
  };
  const requireCollector = async (collectorId: string): Promise<void> => {
    const found = await service.getCollector(collectorId).catch(() => undefined);
    if (found?.workspaceId !== workspaceId) throw outside();
  };
  return {
    createWorkspace: async () => {
      throw permissionDenied('creating workspaces needs an admin key without a workspace');
    },
    listWorkspaces: async () => (await all.listWorkspaces()).filter((w) => w.id === workspaceId),
    createCollector: async (input) => {
      await requireWorkspace(input.workspace);
      return all.createCollector(input);
    },
    listCollectors: async (workspace) => {
      if (workspace !== undefined) await requireWorkspace(workspace);
      return all.listCollectors(workspaceId);
    },
    rotateKey: async (id) => {
      await requireCollector(id);
      return all.rotateKey(id);
    },
    revokeCollector: async (id) => {
      await requireCollector(id);
      return all.revokeCollector(id);
    },
    updateCollector: async (id, input) => {
      await requireCollector(id);
      return all.updateCollector(id, input);
    },
  };
}
