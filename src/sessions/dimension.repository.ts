import { type Insertable, type Kysely, sql } from 'kysely';
import type { DB } from '../db/schema';

/**
 * projects, developers and backing_models: immutable rows shared by sessions.
 * Each lookup is one round trip: insert-if-absent and select in one statement.
 * When a concurrent transaction inserted the same row after our snapshot, the
 * statement sees neither; a plain select (new snapshot) then finds it.
 */

/** Each dimension table and its natural key (its unique constraint). */
const NATURAL_KEYS = {
  projects: ['workspace_id', 'fingerprint'],
  developers: ['workspace_id', 'fingerprint'],
  backing_models: ['provider', 'model_id'],
} as const;

export type DimensionTable = keyof typeof NATURAL_KEYS;
export type DimensionRow<T extends DimensionTable> = Required<Omit<Insertable<DB[T]>, 'id' | 'created_at'>>;

type IdRow = { id: bigint | number | string };

/** The id of the row with `row`'s natural key, inserted if absent. */
export async function resolveDimension<T extends DimensionTable>(db: Kysely<DB>, table: T, row: DimensionRow<T>): Promise<bigint> {
  const values = row as Record<string, unknown>;
  const columns = Object.keys(values);
  const key = NATURAL_KEYS[table];
  const matches = sql.join(
    key.map((column) => sql`${sql.ref(column)} = ${values[column]}`),
    sql` AND `,
  );
  const found = await sql<IdRow>`
    WITH ins AS (
      INSERT INTO ${sql.table(table)} (${sql.join(columns.map((c) => sql.ref(c)))})
      VALUES (${sql.join(columns.map((c) => values[c]))})
      ON CONFLICT (${sql.join(key.map((c) => sql.ref(c)))}) DO NOTHING
      RETURNING id)
    SELECT id FROM ins
    UNION ALL
    SELECT id FROM ${sql.table(table)} WHERE ${matches}
    LIMIT 1`.execute(db);
  const id = found.rows[0]?.id ?? (await sql<IdRow>`SELECT id FROM ${sql.table(table)} WHERE ${matches}`.execute(db)).rows[0]?.id;
  if (id === undefined) throw new Error(`${table} row vanished while being resolved`);
  return BigInt(id);
}

export interface DimensionRows {
  project: { path: string; name: string; metadata: unknown } | undefined;
  developer: { username: string; email: string | null; metadata: unknown } | undefined;
  backingModel: { provider: string; model_id: string } | undefined;
}

/** The dimension rows a stored session points at (read-back). */
export async function loadDimensions(
  db: Kysely<DB>,
  ids: { projectId: bigint | null; developerId: bigint | null; backingModelId: bigint | null },
): Promise<DimensionRows> {
  const [project, developer, backingModel] = await Promise.all([
    ids.projectId === null
      ? undefined
      : db.selectFrom('projects').select(['path', 'name', 'metadata']).where(sql<boolean>`id = ${ids.projectId}`).executeTakeFirst(),
    ids.developerId === null
      ? undefined
      : db
          .selectFrom('developers')
          .select(['username', 'email', 'metadata'])
          .where(sql<boolean>`id = ${ids.developerId}`)
          .executeTakeFirst(),
    ids.backingModelId === null
      ? undefined
      : db
          .selectFrom('backing_models')
          .select(['provider', 'model_id'])
          .where(sql<boolean>`id = ${ids.backingModelId}`)
          .executeTakeFirst(),
  ]);
  return { project, developer, backingModel };
}
