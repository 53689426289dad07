import type { Kysely } from 'kysely';
import type { DB } from '../db/schema';
import { findSessionSummaries, sessionSummaryKey } from '../sessions/session-summary.repository';
import type { Session } from '../../generated/catsyphon/telemetry/v1/sessions';

/*
 * The ingest path replaces a session's (and thread's) fields with the
 * request's when the request is not older. An OTLP export holds only the
 * last few seconds of a session, so before storing, the adapter merges the
 * stored start, model, developer and metadata into what it sends.
 */

const minOf = (a: bigint, b: bigint) => (a < b ? a : b);
const maxOf = (a: bigint, b: bigint) => (a > b ? a : b);

/**
 * Merges the stored state into the sessions of an export (in place): the
 * earliest start, the latest activity, the export's model and developer or
 * else the stored ones, the stored metadata overlaid with the export's. An
 * export that adds nothing new thus changes no session field.
 */
export async function mergeStoredState(db: Kysely<DB>, workspaceId: string, sessions: Session[]): Promise<void> {
  const stored = await findSessionSummaries(db, workspaceId, sessions);
  for (const s of sessions) {
    const prior = stored.get(sessionSummaryKey(s.assistant, s.id));
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
