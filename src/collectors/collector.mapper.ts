import type { CollectorView, WorkspaceView } from './collector.views';
import { displayPrefix } from '../auth/api-key';
import type { CollectorWithWorkspace } from './collector.repository';
import type { WorkspaceWithCount } from './workspace.repository';

// Kysely types `Generated<Timestamp>` columns loosely; drivers return a Date (or an ISO string).
const iso = (d: unknown): string => new Date(d as Date | string).toISOString();
const isoOrNull = (d: unknown): string | null => (d === null || d === undefined ? null : iso(d));

export function toWorkspaceView(row: WorkspaceWithCount): WorkspaceView {
  return { id: row.id, name: row.name, slug: row.slug, createdAt: iso(row.created_at), collectorCount: row.collector_count };
}

export function toCollectorView(row: CollectorWithWorkspace, nowMs: number): CollectorView {
  const expired = row.expires_at !== null && new Date(row.expires_at as Date | string).getTime() <= nowMs;
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    workspaceSlug: row.workspace_slug,
    name: row.name,
    type: row.type,
    keyPrefix: displayPrefix(row.key_prefix),
    status: !row.is_active ? 'revoked' : expired ? 'expired' : 'active',
    isActive: row.is_active,
    expiresAt: isoOrNull(row.expires_at),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    lastSeenAt: isoOrNull(row.last_seen_at),
    revokedAt: isoOrNull(row.revoked_at),
    hostname: row.hostname,
    version: row.version,
    rateLimits: {
      requestsPerMin: row.rate_limit_requests_per_min,
      messagesPerMin: row.rate_limit_messages_per_min,
    },
  };
}
