import type { Kysely } from 'kysely';
import type { DB } from '../db/schema';
import type { BackingModel, Developer, Session } from '../../generated/catsyphon/telemetry/v1/sessions';
import { metadataFrom } from './session.mapper';

/**
 * A stored session's fields as a partial re-export must carry them over:
 * start and last activity, metadata, model, developer, and each thread's
 * start and last activity (the OTLP adapter merges them into what it sends).
 */
export interface StoredSessionSummary {
  readonly startedAtNs: bigint;
  readonly lastActivityAtNs: bigint;
  readonly metadata: Record<string, string>;
  readonly backingModel: BackingModel | undefined;
  readonly developer: Developer | undefined;
  readonly threads: Map<string, { startedAtNs: bigint; lastActivityAtNs: bigint }>;
}

export const sessionSummaryKey = (assistant: number, sessionId: string) => `${assistant}\u0000${sessionId}`;

/**
 * The stored summaries of the given sessions of a workspace, keyed by
 * `sessionSummaryKey(assistant, id)` (two queries, whatever their number).
 */
export async function findSessionSummaries(
  db: Kysely<DB>,
  workspaceId: string,
  sessions: ReadonlyArray<Pick<Session, 'assistant' | 'id'>>,
): Promise<Map<string, StoredSessionSummary>> {
  const out = new Map<string, StoredSessionSummary>();
  if (sessions.length === 0) return out;
  const rows = await db
    .selectFrom('sessions as s')
    .leftJoin('backing_models as m', 'm.id', 's.backing_model_id')
    .leftJoin('developers as d', 'd.id', 's.developer_id')
    .select([
      's.id',
      's.assistant',
      's.source_session_id',
      's.started_at_ns',
      's.last_activity_at_ns',
      's.metadata',
      's.backing_model_display_name',
      'm.provider',
      'm.model_id',
      'd.username',
      'd.email',
      'd.metadata as developer_metadata',
    ])
    .where('s.workspace_id', '=', workspaceId)
    .where('s.source_session_id', 'in', [...new Set(sessions.map((s) => s.id))])
    .execute();
  const wanted = new Set(sessions.map((s) => sessionSummaryKey(s.assistant, s.id)));
  const byRowId = new Map<string, StoredSessionSummary>();
  for (const r of rows) {
    const key = sessionSummaryKey(r.assistant, r.source_session_id);
    if (!wanted.has(key)) continue;
    const stored: StoredSessionSummary = {
      startedAtNs: BigInt(r.started_at_ns),
      lastActivityAtNs: BigInt(r.last_activity_at_ns),
      metadata: metadataFrom(r.metadata),
      backingModel:
        r.provider === null || r.model_id === null
          ? undefined
          : { provider: r.provider, modelId: r.model_id, displayName: r.backing_model_display_name ?? undefined },
      developer:
        r.username === null ? undefined : { username: r.username, email: r.email ?? undefined, metadata: metadataFrom(r.developer_metadata) },
      threads: new Map(),
    };
    out.set(key, stored);
    byRowId.set(r.id, stored);
  }
  if (byRowId.size === 0) return out;
  const threads = await db
    .selectFrom('threads')
    .select(['session_id', 'source_thread_id', 'started_at_ns', 'last_activity_at_ns'])
    .where('session_id', 'in', [...byRowId.keys()])
    .execute();
  for (const t of threads) {
    byRowId.get(t.session_id)?.threads.set(t.source_thread_id, {
      startedAtNs: BigInt(t.started_at_ns),
      lastActivityAtNs: BigInt(t.last_activity_at_ns),
    });
  }
  return out;
}
