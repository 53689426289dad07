import type { LifecycleApi } from '../lifecycle/lifecycle-api';

/**
 * The operator's view of workspaces and collectors, and the operations the
 * `catsyphon-ingest` CLI runs. Two implementations share this interface:
 * one runs against the database directly (PostgreSQL, or an embedded PGlite
 * no server holds), the other asks a running server over its local admin
 * socket (embedded PGlite in use by `serve`).
 */
import type {
  CollectorView,
  CreateCollectorInput,
  IssuedKey,
  UpdateCollectorInput,
  WorkspaceView,
} from '../collectors/collector.views';

export interface AdminApi {
  /** Where the operations run: directly on the database, or on a running server. */
  readonly via: 'database' | 'server';
  /** Audit trail, stored sessions, retention and deletion (src/lifecycle/). */
  readonly lifecycle: LifecycleApi;
  createWorkspace(input: { name: string; slug?: string }): Promise<WorkspaceView>;
  listWorkspaces(): Promise<WorkspaceView[]>;
  createCollector(input: CreateCollectorInput): Promise<IssuedKey>;
  /** All collectors, or those of one workspace (id or slug). */
  listCollectors(workspace?: string): Promise<CollectorView[]>;
  rotateKey(collectorId: string): Promise<IssuedKey>;
  revokeCollector(collectorId: string): Promise<CollectorView>;
  updateCollector(collectorId: string, input: UpdateCollectorInput): Promise<CollectorView>;
  close(): Promise<void>;
}
