import type { LifecycleApi } from '../lifecycle/lifecycle-api';

/**
 * The operator's view of workspaces and collectors, and the operations the
 * `catsyphon-ingest` CLI runs. Two implementations share this interface:
 * one runs against the database directly (PostgreSQL, or an embedded PGlite
 * no server holds), the other asks a running server over its local admin
 * socket (embedded PGlite in use by `serve`).
 */
export interface WorkspaceView {
  readonly id: string;
  readonly name: string;
  readonly slug: string;
  readonly createdAt: string;
  /** Active (not revoked) collectors. */
  readonly collectorCount: number;
}

export type CollectorStatus = 'active' | 'expired' | 'revoked';

export interface CollectorView {
  readonly id: string;
  readonly workspaceId: string;
  readonly workspaceSlug: string;
  readonly name: string;
  readonly type: string;
  /** `cs_live_` and the lookup prefix: identifies a key without revealing it. */
  readonly keyPrefix: string;
  readonly status: CollectorStatus;
  readonly isActive: boolean;
  readonly expiresAt: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastSeenAt: string | null;
  readonly revokedAt: string | null;
  readonly hostname: string | null;
  readonly version: string | null;
  /** Per-collector rate limits; null means the server's configured default. */
  readonly rateLimits: CollectorRateLimits;
}

export interface CollectorRateLimits {
  readonly requestsPerMin: number | null;
  readonly messagesPerMin: number | null;
}

/** A collector with a freshly issued key, shown once. */
export interface IssuedKey {
  readonly collector: CollectorView;
  readonly apiKey: string;
}

export interface CreateCollectorInput {
  /** Workspace id or slug. */
  readonly workspace: string;
  readonly name: string;
  readonly type?: string;
  readonly expiresInMs?: number;
}

export interface UpdateCollectorInput {
  readonly name?: string;
  /** A new lifetime from now; null removes the expiry. */
  readonly expiresInMs?: number | null;
  /** New per-collector limits; null returns one to the default, undefined leaves it. */
  readonly rateLimits?: { readonly requestsPerMin?: number | null; readonly messagesPerMin?: number | null };
}

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
