/**
 * The operator's view of workspaces and collectors, and the inputs of the
 * operations on them: what CollectorService returns and takes. The admin
 * API (src/admin/) and the CLI show these; they are defined here, next to
 * the service, so collectors/ depends on nothing above it.
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

/** An admin key as listed: never the key, only its prefix. */
export interface AdminKeyView {
  readonly id: string;
  readonly name: string;
  /** The workspace it is limited to; null: every workspace. */
  readonly workspaceId: string | null;
  readonly workspaceSlug: string | null;
  /** `cs_admin_` and the lookup prefix. */
  readonly keyPrefix: string;
  readonly status: CollectorStatus;
  readonly expiresAt: string | null;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

/** A new admin key, shown once. */
export interface IssuedAdminKey {
  readonly adminKey: AdminKeyView;
  readonly key: string;
}

export interface CreateAdminKeyInput {
  readonly name: string;
  /** Workspace id or slug to limit the key to; absent: every workspace. */
  readonly workspace?: string;
  readonly expiresInMs?: number;
}
