import type { CollectorService } from '../collectors/collector.service';
import type { LifecycleApi } from '../lifecycle/lifecycle-api';
import type { AdminApi } from './admin-api';

/** The admin operations run in this process, on a database it opened. */
export function localAdmin(service: CollectorService, lifecycle: LifecycleApi, close: () => Promise<void>): AdminApi {
  return {
    via: 'database',
    lifecycle,
    createWorkspace: (input) => service.createWorkspace(input),
    listWorkspaces: () => service.listWorkspaces(),
    createCollector: (input) => service.createCollector(input),
    listCollectors: (workspace) => service.listCollectors(workspace),
    rotateKey: (id) => service.rotateKey(id),
    revokeCollector: (id) => service.revokeCollector(id),
    updateCollector: (id, input) => service.updateCollector(id, input),
    close,
  };
}
