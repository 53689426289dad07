import type { CollectorInfo } from '../../generated/catsyphon/telemetry/v1/sessions';
import { permissionDenied } from '../errors/domain-error';
import type { Caller } from '../identity/caller';

/**
 * Checks the CollectorInfo a request carries against the API key's collector.
 * Non-empty ids must match the key's (else PERMISSION_DENIED); empty ones are
 * filled from the key. Returns the effective CollectorInfo.
 */
export function reconcileCollectorInfo(caller: Caller, info: CollectorInfo | undefined): CollectorInfo {
  const given: CollectorInfo = info ?? { type: '', version: '', hostname: '', collectorId: '', workspaceId: '', metadata: {} };
  if (given.workspaceId !== '' && given.workspaceId !== caller.workspaceId) {
    throw permissionDenied('collector.workspace_id does not match the workspace of the API key');
  }
  if (given.collectorId !== '' && given.collectorId !== caller.collectorId) {
    throw permissionDenied('collector.collector_id does not match the collector of the API key');
  }
  return { ...given, workspaceId: caller.workspaceId, collectorId: caller.collectorId };
}

/**
 * Records that a collector was seen (last_seen_at, hostname, version). Called
 * by the ingestion handlers on every call; implementations write at most once
 * every few seconds per collector.
 */
export interface CollectorActivity {
  record(caller: Caller, info: CollectorInfo): void;
}

export const ignoreCollectorActivity: CollectorActivity = { record: () => undefined };
