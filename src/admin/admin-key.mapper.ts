import type { AdminKey as AdminKeyMessage } from '../../generated/catsyphon/admin/v1/admin_keys';
import type { AdminKeyView, CollectorStatus } from '../collectors/collector.views';

/** Admin-key views to and from their proto messages (admin socket only). */
export function adminKeyToMessage(view: AdminKeyView): AdminKeyMessage {
  return {
    id: view.id,
    name: view.name,
    workspaceId: view.workspaceId ?? undefined,
    workspaceSlug: view.workspaceSlug ?? undefined,
    keyPrefix: view.keyPrefix,
    status: view.status,
    expiresAt: view.expiresAt ?? undefined,
    createdAt: view.createdAt,
    revokedAt: view.revokedAt ?? undefined,
  };
}

export function adminKeyFromMessage(message: AdminKeyMessage | undefined): AdminKeyView {
  if (!message) throw new Error('the server answered without an admin key');
  return {
    id: message.id,
    name: message.name,
    workspaceId: message.workspaceId ?? null,
    workspaceSlug: message.workspaceSlug ?? null,
    keyPrefix: message.keyPrefix,
    status: message.status as CollectorStatus,
    expiresAt: message.expiresAt ?? null,
    createdAt: message.createdAt,
    revokedAt: message.revokedAt ?? null,
  };
}
