import { type Kysely, sql } from 'kysely';

/**
 * Keeps the order in which a session's plans were first received, so that
 * GetSession returns `plans` in the order they were exported.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE plans ADD COLUMN ordinal bigint GENERATED ALWAYS AS IDENTITY`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE plans DROP COLUMN ordinal`.execute(db);
}
