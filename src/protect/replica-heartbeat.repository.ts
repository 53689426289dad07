import { type Kysely, sql } from 'kysely';
import type { DB } from '../db/schema';

/**
 * The replica_heartbeats table (migration 0006). Staleness is judged by the
 * database clock, so replicas' clocks need not agree.
 */

/** Records (or refreshes) this replica's heartbeat. */
export async function beat(db: Kysely<DB>, replicaId: string, hostname: string): Promise<void> {
  await db
    .insertInto('replica_heartbeats')
    .values({ replica_id: replicaId, hostname })
    .onConflict((oc) => oc.column('replica_id').doUpdateSet({ beat_at: sql`now()` }))
    .execute();
}

/** Deletes the rows of replicas that stopped beating `staleMs` ago; returns how many. */
export async function deleteStaleHeartbeats(db: Kysely<DB>, staleMs: number): Promise<number> {
  const result = await db
    .deleteFrom('replica_heartbeats')
    .where(sql<boolean>`beat_at < now() - make_interval(secs => ${staleMs / 1000})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Replicas whose heartbeat is younger than `staleMs`. */
export async function countLiveReplicas(db: Kysely<DB>, staleMs: number): Promise<number> {
  const row = await db
    .selectFrom('replica_heartbeats')
    .select((eb) => eb.fn.countAll<string | number | bigint>().as('n'))
    .where(sql<boolean>`beat_at >= now() - make_interval(secs => ${staleMs / 1000})`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function removeHeartbeat(db: Kysely<DB>, replicaId: string): Promise<void> {
  await db.deleteFrom('replica_heartbeats').where('replica_id', '=', replicaId).execute();
}
