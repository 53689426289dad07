import type { AdminKeyService } from '../collectors/admin-key.service';
import type { CollectorService } from '../collectors/collector.service';
import type { LifecycleApi } from '../lifecycle/lifecycle-api';
import type { AdminApi, AdminKeyApi, AdminOperations } from './admin-api';

/** The workspace and collector operations, run in this process on a CollectorService. */
export function localOperations(service: CollectorService): AdminOperations {
  return {
    createWorkspace: (input) => service.createWorkspace(input),
    listWorkspaces: () => service.listWorkspaces(),
    createCollector: (input) => service.createCollector(input),
    listCollectors: (workspace) => service.listCollectors(workspace),
    rotateKey: (id) => service.rotateKey(id),
    revokeCollector: (id) => service.revokeCollector(id),
    updateCollector: (id, input) => service.updateCollector(id, input),
  };
}

/** Admin-key management run in this process. */
export function localAdminKeys(keys: AdminKeyService): AdminKeyApi {
  return {
    createAdminKey: (input) => keys.create(input),
    listAdminKeys: () => keys.list(),
    revokeAdminKey: (id) => keys.revoke(id),
  };
}

/** The admin operations run in this process, on a database it opened. */
export function localAdmin(
  service: CollectorService,
  keys: AdminKeyService,
  lifecycle: LifecycleApi,
  close: () => Promise<void>,
): AdminApi {
  return { via: 'database', lifecycle, ...localOperations(service), ...localAdminKeys(keys), close };
}
