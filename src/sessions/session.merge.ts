import type { SessionRow } from '../db/schema';
import type { Thread } from '../../generated/catsyphon/telemetry/v1/sessions';
import { metadataFrom, sameMetadata, type SessionFields, threadRow } from './session.mapper';
import type { SessionRefs, StoredThread } from './session.repository';

/**
 * Rules for merging a re-exported session into the stored one. A snapshot
 * that is not older (by last_activity_at_ns) than the stored one replaces the
 * stored fields; an older one changes nothing, so last_activity only moves
 * forward. Messages are append-only; plans follow their own updated_at.
 */

const eqNullable = (a: string | null | undefined, b: string | null | undefined) => (a ?? null) === (b ?? null);
const idText = (v: bigint | string | null) => (v === null ? null : String(v));

/** True when the stored session row should be overwritten with the request's fields. */
export function sessionNeedsUpdate(stored: SessionRow, refs: SessionRefs, fields: SessionFields): boolean {
  if (BigInt(fields.last_activity_at_ns) < BigInt(stored.last_activity_at_ns)) return false;
  return !(
    stored.status === fields.status &&
    String(stored.started_at_ns) === fields.started_at_ns &&
    String(stored.last_activity_at_ns) === fields.last_activity_at_ns &&
    idText(stored.project_id) === idText(refs.project_id) &&
    idText(stored.developer_id) === idText(refs.developer_id) &&
    idText(stored.backing_model_id) === idText(refs.backing_model_id) &&
    eqNullable(stored.backing_model_display_name, fields.backing_model_display_name) &&
    stored.has_git_context === fields.has_git_context &&
    eqNullable(stored.git_branch, fields.git_branch) &&
    eqNullable(stored.git_commit_sha, fields.git_commit_sha) &&
    (stored.git_is_clean ?? null) === fields.git_is_clean &&
    eqNullable(stored.git_remote_url, fields.git_remote_url) &&
    sameMetadata(metadataFrom(stored.metadata), JSON.parse(fields.metadata))
  );
}

/** True when a stored thread should be overwritten with the request's thread. */
export function threadNeedsUpdate(stored: StoredThread, t: Thread): boolean {
  const row = threadRow('', t);
  if (BigInt(row.last_activity_at_ns) < BigInt(stored.last_activity_at_ns)) return false;
  return !(
    eqNullable(stored.parent_thread_id, row.parent_thread_id) &&
    stored.type === row.type &&
    eqNullable(stored.spawned_by_message_id, row.spawned_by_message_id) &&
    stored.started_at_ns === row.started_at_ns &&
    eqNullable(stored.ended_at_ns, row.ended_at_ns) &&
    stored.last_activity_at_ns === row.last_activity_at_ns &&
    sameMetadata(metadataFrom(stored.metadata), t.metadata)
  );
}

/**
 * The highest seq known to be stored contiguously from 1 (every seq up to it
 * is present), so messages at or below it need not be sent again; 0 if none.
 */
export function contiguousSeq(stored: StoredThread | undefined): number {
  if (!stored || stored.max_seq === null) return 0;
  return Number(stored.message_count) === stored.max_seq ? stored.max_seq : 0;
}
