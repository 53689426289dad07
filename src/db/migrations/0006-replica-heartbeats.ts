import { type Kysely, sql } from 'kysely';

/**
 * One row per running replica, refreshed every REPLICA_HEARTBEAT_INTERVAL_MS:
 * with RATE_LIMIT_SCOPE=cluster each replica enforces its share of the
 * per-collector limits (configured / live replicas). Rows that stopped being
 * refreshed are ignored and deleted by the others; a replica deletes its own
 * row on graceful shutdown. Times are the database's (`now()`), so replicas'
 * clocks need not agree.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE replica_heartbeats (
      replica_id text PRIMARY KEY,
      hostname text NOT NULL,
      started_at timestamptz NOT NULL DEFAULT now(),
      beat_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE replica_heartbeats`.execute(db);
}
