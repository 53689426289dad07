import type { LifecycleApi } from '../lifecycle/lifecycle-api';

/**
 * The operator's view of workspaces and collectors, and the operations the
 * `catsyphon-ingest` CLI runs. Three implementations share this interface:
 * one runs against the database directly (PostgreSQL, or an embedded PGlite
 * no server holds), one asks a running server over its local admin socket
 * (embedded PGlite in use by `serve`), and one asks a server over the network
 * with an admin key (`--server`, ADMIN_API=on), which cannot manage admin keys.
 */
import type {
  AdminKeyView,
  CollectorView,
  CreateAdminKeyInput,
  CreateCollectorInput,
  IssuedAdminKey,
  IssuedKey,
  UpdateCollectorInput,
  WorkspaceView,
} from '../collectors/collector.views';

/** Workspace and collector operations: what the admin socket and the network admin service serve. */
export interface AdminOperations {
  createWorkspace(input: { name: string; slug?: string }): Promise<WorkspaceView>;
  listWorkspaces(): Promise<WorkspaceView[]>;
  createCollector(input: CreateCollectorInput): Promise<IssuedKey>;
  /** All collectors, or those of one workspace (id or slug). */
  listCollectors(workspace?: string): Promise<CollectorView[]>;
  rotateKey(collectorId: string): Promise<IssuedKey>;
  revokeCollector(collectorId: string): Promise<CollectorView>;
  updateCollector(collectorId: string, input: UpdateCollectorInput): Promise<CollectorView>;
}

/** Admin-key management: local database or admin socket only (bootstrap). */
export interface AdminKeyApi {
  createAdminKey(input: CreateAdminKeyInput): Promise<IssuedAdminKey>;
  listAdminKeys(): Promise<AdminKeyView[]>;
  revokeAdminKey(id: string): Promise<AdminKeyView>;
}

export interface AdminApi extends AdminOperations, Partial<AdminKeyApi> {
  /** Where the operations run: directly on the database, on a running server's socket, or over the network. */
  readonly via: 'database' | 'server' | 'network';
  /**
   * Audit trail, stored sessions, retention and deletion (src/lifecycle/). Over the network
   * (`--server`) the server does not serve them yet: they answer UNIMPLEMENTED.
   */
  readonly lifecycle: LifecycleApi;
  close(): Promise<void>;
}
