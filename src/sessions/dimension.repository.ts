import { type Kysely, sql } from 'kysely';
import type { DB } from '../db/schema';
import type { BackingModel, Developer, Project } from '../../generated/catsyphon/telemetry/v1/sessions';
import { metadataJson } from './session.mapper';

/**
 * projects, developers and backing_models: immutable rows shared by sessions.
 * Each lookup is one round trip: insert-if-absent and select in one statement.
 * When a concurrent transaction inserted the same row after our snapshot, the
 * statement sees neither; a plain select (new snapshot) then finds it.
 */

type IdRow = { id: bigint };

export async function resolveProject(
  db: Kysely<DB>,
  workspaceId: string,
  project: Project,
  fingerprint: Buffer,
): Promise<bigint> {
  const row = await sql<IdRow>`
    WITH ins AS (
      INSERT INTO projects (workspace_id, path, name, metadata, fingerprint)
      VALUES (${workspaceId}, ${project.path}, ${project.name}, ${metadataJson(project.metadata)}, ${fingerprint})
      ON CONFLICT (workspace_id, fingerprint) DO NOTHING
      RETURNING id)
    SELECT id FROM ins
    UNION ALL
    SELECT id FROM projects WHERE workspace_id = ${workspaceId} AND fingerprint = ${fingerprint}
    LIMIT 1`.execute(db);
  if (row.rows[0]) return row.rows[0].id;
  const again = await db
    .selectFrom('projects')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where('fingerprint', '=', fingerprint)
    .executeTakeFirstOrThrow();
  return BigInt(again.id as unknown as bigint);
}

export async function resolveDeveloper(
  db: Kysely<DB>,
  workspaceId: string,
  developer: Developer,
  fingerprint: Buffer,
): Promise<bigint> {
  const email = developer.email ?? null;
  const row = await sql<IdRow>`
    WITH ins AS (
      INSERT INTO developers (workspace_id, username, email, metadata, fingerprint)
      VALUES (${workspaceId}, ${developer.username}, ${email}, ${metadataJson(developer.metadata)}, ${fingerprint})
      ON CONFLICT (workspace_id, fingerprint) DO NOTHING
      RETURNING id)
    SELECT id FROM ins
    UNION ALL
    SELECT id FROM developers WHERE workspace_id = ${workspaceId} AND fingerprint = ${fingerprint}
    LIMIT 1`.execute(db);
  if (row.rows[0]) return row.rows[0].id;
  const again = await db
    .selectFrom('developers')
    .select('id')
    .where('workspace_id', '=', workspaceId)
    .where('fingerprint', '=', fingerprint)
    .executeTakeFirstOrThrow();
  return BigInt(again.id as unknown as bigint);
}

export async function resolveBackingModel(db: Kysely<DB>, model: BackingModel): Promise<bigint> {
  const row = await sql<IdRow>`
    WITH ins AS (
      INSERT INTO backing_models (provider, model_id, display_name)
      VALUES (${model.provider}, ${model.modelId}, ${model.displayName ?? null})
      ON CONFLICT (provider, model_id) DO NOTHING
      RETURNING id)
    SELECT id FROM ins
    UNION ALL
    SELECT id FROM backing_models WHERE provider = ${model.provider} AND model_id = ${model.modelId}
    LIMIT 1`.execute(db);
  if (row.rows[0]) return row.rows[0].id;
  const again = await db
    .selectFrom('backing_models')
    .select('id')
    .where('provider', '=', model.provider)
    .where('model_id', '=', model.modelId)
    .executeTakeFirstOrThrow();
  return BigInt(again.id as unknown as bigint);
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
