import type {
  Collector as CollectorMessage,
  Workspace as WorkspaceMessage,
} from '../../generated/catsyphon/admin/v1/admin';
import type { CollectorStatus, CollectorView, WorkspaceView } from '../collectors/collector.views';

/** Admin views to and from their proto messages (the admin socket's wire format). */
export function workspaceToMessage(view: WorkspaceView): WorkspaceMessage {
  return { ...view };
}

export function workspaceFromMessage(message: WorkspaceMessage): WorkspaceView {
  return {
    id: message.id,
    name: message.name,
    slug: message.slug,
    createdAt: message.createdAt,
    collectorCount: message.collectorCount,
  };
}

export function collectorToMessage(view: CollectorView): CollectorMessage {
  return {
    id: view.id,
    workspaceId: view.workspaceId,
    workspaceSlug: view.workspaceSlug,
    name: view.name,
    type: view.type,
    keyPrefix: view.keyPrefix,
    status: view.status,
    isActive: view.isActive,
    expiresAt: view.expiresAt ?? undefined,
    createdAt: view.createdAt,
    updatedAt: view.updatedAt,
    lastSeenAt: view.lastSeenAt ?? undefined,
    revokedAt: view.revokedAt ?? undefined,
    hostname: view.hostname ?? undefined,
    version: view.version ?? undefined,
    rateLimitRequestsPerMin: view.rateLimits.requestsPerMin ?? undefined,
    rateLimitMessagesPerMin: view.rateLimits.messagesPerMin ?? undefined,
  };
}

export function collectorFromMessage(message: CollectorMessage | undefined): CollectorView {
  if (!message) throw new Error('the server answered without a collector');
  return {
    id: message.id,
    workspaceId: message.workspaceId,
    workspaceSlug: message.workspaceSlug,
    name: message.name,
    type: message.type,
    keyPrefix: message.keyPrefix,
    status: message.status as CollectorStatus,
    isActive: message.isActive,
    expiresAt: message.expiresAt ?? null,
    createdAt: message.createdAt,
    updatedAt: message.updatedAt,
    lastSeenAt: message.lastSeenAt ?? null,
    revokedAt: message.revokedAt ?? null,
    hostname: message.hostname ?? null,
    version: message.version ?? null,
    rateLimits: {
      requestsPerMin: message.rateLimitRequestsPerMin ?? null,
      messagesPerMin: message.rateLimitMessagesPerMin ?? null,
    },
  };
}
