import type { Kysely } from 'kysely';
import type { DB } from '../db/schema';
import type { BackingModel, Developer, Session } from '../../generated/catsyphon/telemetry/v1/sessions';

/**
 * What an export must carry over from the stored session. The ingest path
 * replaces a session's (and thread's) fields with the request's when the
 * request is not older; an export holds only the last few seconds of a
 * session, so the OTLP adapter first merges the stored start, model,
 * developer and metadata into what it sends.
 */
interface StoredSession {
  readonly startedAtNs: bigint;
  readonly lastActivityAtNs: bigint;
  readonly metadata: Record<string, string>;
  readonly backingModel: BackingModel | undefined;
  readonly developer: Developer | undefined;
  readonly threads: Map<string, { startedAtNs: bigint; lastActivityAtNs: bigint }>;
}

const json = (v: unknown): Record<string, string> => {
  const parsed = typeof v === 'string' ? (JSON.parse(v) as unknown) : v;
  const out: Record<string, string> = {};
  if (parsed && typeof parsed === 'object') for (const [k, val] of Object.entries(parsed)) out[k] = String(val);
  return out;
};

const keyOf = (assistant: number, sessionId: string) => `${assistant}\u0000${sessionId}`;

/** The stored state of the sessions an export touches (two queries, whatever their number). */
async function lookupStored(db: Kysely<DB>, workspaceId: string, sessions: readonly Session[]): Promise<Map<string, StoredSession>> {
  const out = new Map<string, StoredSession>();
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
  const wanted = new Set(sessions.map((s) => keyOf(s.assistant, s.id)));
  const byRowId = new Map<string, StoredSession>();
  for (const r of rows) {
    const key = keyOf(r.assistant, r.source_session_id);
    if (!wanted.has(key)) continue;
    const stored: StoredSession = {
      startedAtNs: BigInt(r.started_at_ns),
      lastActivityAtNs: BigInt(r.last_activity_at_ns),
      metadata: json(r.metadata),
      backingModel:
        r.provider === null || r.model_id === null
          ? undefined
          : { provider: r.provider, modelId: r.model_id, displayName: r.backing_model_display_name ?? undefined },
      developer:
        r.username === null ? undefined : { username: r.username, email: r.email ?? undefined, metadata: json(r.developer_metadata) },
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

const minOf = (a: bigint, b: bigint) => (a < b ? a : b);
const maxOf = (a: bigint, b: bigint) => (a > b ? a : b);

/**
 * Merges the stored state into the sessions of an export (in place): the
 * earliest start, the latest activity, the export's model and developer or
 * else the stored ones, the stored metadata overlaid with the export's. An
 * export that adds nothing new thus changes no session field.
 */
export async function mergeStoredState(db: Kysely<DB>, workspaceId: string, sessions: Session[]): Promise<void> {
  const stored = await lookupStored(db, workspaceId, sessions);
  for (const s of sessions) {
    const prior = stored.get(keyOf(s.assistant, s.id));
    if (!prior) continue;
    s.startedAtNs = minOf(s.startedAtNs, prior.startedAtNs);
    s.lastActivityAtNs = maxOf(s.lastActivityAtNs, prior.lastActivityAtNs);
    s.backingModel ??= prior.backingModel;
    s.developer ??= prior.developer;
    s.metadata = { ...prior.metadata, ...s.metadata };
    for (const t of s.threads) {
      const known = prior.threads.get(t.id);
      if (!known) continue;
      t.startedAtNs = minOf(t.startedAtNs, known.startedAtNs);
      t.lastActivityAtNs = maxOf(t.lastActivityAtNs, known.lastActivityAtNs);
    }
  }
}
