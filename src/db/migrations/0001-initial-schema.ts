import { type Kysely, sql } from 'kysely';

/**
 * The whole wire model. Every field of catsyphon.telemetry.v1 has a column;
 * see src/db/schema.ts for the conventions (ns as bigint, NUL-safe text pairs,
 * json for maps).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE workspaces (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL,
      slug text NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);

  await sql`
    CREATE TABLE collectors (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      workspace_id uuid NOT NULL REFERENCES workspaces(id),
      name text NOT NULL,
      type text NOT NULL DEFAULT 'aiobscura',
      key_prefix text NOT NULL UNIQUE,
      key_hash text NOT NULL,
      is_active boolean NOT NULL DEFAULT true,
      expires_at timestamptz,
      rate_limit_requests_per_min integer CHECK (rate_limit_requests_per_min > 0),
      rate_limit_messages_per_min integer CHECK (rate_limit_messages_per_min > 0),
      hostname text,
      version text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz,
      revoked_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX collectors_workspace_idx ON collectors (workspace_id)`.execute(db);

  await sql`
    CREATE TABLE projects (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      workspace_id uuid NOT NULL REFERENCES workspaces(id),
      path text NOT NULL,
      name text NOT NULL,
      metadata json NOT NULL,
      fingerprint bytea NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (workspace_id, fingerprint)
    )`.execute(db);
  await sql`CREATE INDEX projects_path_idx ON projects (workspace_id, path)`.execute(db);

  await sql`
    CREATE TABLE developers (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      workspace_id uuid NOT NULL REFERENCES workspaces(id),
      username text NOT NULL,
      email text,
      metadata json NOT NULL,
      fingerprint bytea NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (workspace_id, fingerprint)
    )`.execute(db);
  await sql`CREATE INDEX developers_username_idx ON developers (workspace_id, username)`.execute(db);

  await sql`
    CREATE TABLE backing_models (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      provider text NOT NULL,
      model_id text NOT NULL,
      display_name text,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (provider, model_id)
    )`.execute(db);

  await sql`
    CREATE TABLE sessions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      workspace_id uuid NOT NULL REFERENCES workspaces(id),
      assistant integer NOT NULL,
      source_session_id text NOT NULL,
      collector_id uuid REFERENCES collectors(id),
      project_id bigint REFERENCES projects(id),
      developer_id bigint REFERENCES developers(id),
      backing_model_id bigint REFERENCES backing_models(id),
      backing_model_display_name text,
      has_git_context boolean NOT NULL DEFAULT false,
      git_branch text,
      git_commit_sha text,
      git_is_clean boolean,
      git_remote_url text,
      status integer NOT NULL,
      started_at_ns bigint NOT NULL,
      last_activity_at_ns bigint NOT NULL,
      started_at timestamptz GENERATED ALWAYS AS (to_timestamp(started_at_ns / 1000000000.0)) STORED,
      last_activity_at timestamptz GENERATED ALWAYS AS (to_timestamp(last_activity_at_ns / 1000000000.0)) STORED,
      metadata json NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (workspace_id, assistant, source_session_id)
    )`.execute(db);
  await sql`CREATE INDEX sessions_activity_idx ON sessions (workspace_id, last_activity_at_ns)`.execute(db);

  await sql`
    CREATE TABLE threads (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
      source_thread_id text NOT NULL,
      parent_thread_id text,
      type integer NOT NULL,
      spawned_by_message_id text,
      started_at_ns bigint NOT NULL,
      ended_at_ns bigint,
      last_activity_at_ns bigint NOT NULL,
      metadata json NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (session_id, source_thread_id)
    )`.execute(db);

  await sql`
    CREATE TABLE messages (
      thread_id bigint NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
      seq integer NOT NULL,
      session_id uuid NOT NULL,
      author_role integer NOT NULL,
      author_name text,
      message_type integer NOT NULL,
      content text,
      content_bin bytea,
      emitted_at_ns bigint NOT NULL,
      observed_at_ns bigint NOT NULL,
      input_tokens integer,
      output_tokens integer,
      cache_creation_tokens integer,
      cache_read_tokens integer,
      tool_calls json NOT NULL,
      tool_result json,
      raw_data bytea NOT NULL,
      metadata json NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (thread_id, seq)
    )`.execute(db);
  await sql`CREATE INDEX messages_session_idx ON messages (session_id)`.execute(db);

  await sql`
    CREATE TABLE files_touched (
      thread_id bigint NOT NULL,
      seq integer NOT NULL,
      ordinal integer NOT NULL,
      session_id uuid NOT NULL,
      path text NOT NULL,
      change_type integer NOT NULL,
      lines_added integer NOT NULL,
      lines_deleted integer NOT NULL,
      timestamp_ns bigint NOT NULL,
      PRIMARY KEY (thread_id, seq, ordinal),
      FOREIGN KEY (thread_id, seq) REFERENCES messages (thread_id, seq) ON DELETE CASCADE
    )`.execute(db);
  await sql`CREATE INDEX files_touched_path_idx ON files_touched (session_id, path)`.execute(db);

  await sql`
    CREATE TABLE plans (
      session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
      plan_id text NOT NULL,
      path text NOT NULL,
      title text,
      status integer NOT NULL,
      content text,
      content_bin bytea,
      created_at_ns bigint NOT NULL,
      updated_at_ns bigint,
      inserted_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (session_id, plan_id)
    )`.execute(db);

  await sql`
    CREATE TABLE ingest_batches (
      workspace_id uuid NOT NULL REFERENCES workspaces(id),
      batch_id text NOT NULL,
      request_hash bytea NOT NULL,
      state text NOT NULL CHECK (state IN ('in_progress', 'done')),
      response bytea,
      owner text,
      heartbeat_at timestamptz NOT NULL DEFAULT now(),
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      PRIMARY KEY (workspace_id, batch_id)
    )`.execute(db);
  await sql`CREATE INDEX ingest_batches_expiry_idx ON ingest_batches (expires_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'ingest_batches',
    'plans',
    'files_touched',
    'messages',
    'threads',
    'sessions',
    'backing_models',
    'developers',
    'projects',
    'collectors',
    'workspaces',
  ]) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(db);
  }
}
