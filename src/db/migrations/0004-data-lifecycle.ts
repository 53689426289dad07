import { type Kysely, sql } from 'kysely';

/**
 * Data lifecycle (issue 15):
 * - `ingest_audit`: one row per authenticated ExportSessions/stream call,
 *   kept for AUDIT_RETENTION, independent of the idempotency records;
 * - `admin_audit`: who deleted what and when (counts, never the content);
 * - `workspaces.retention_ms`: how long the workspace keeps sessions (NULL: forever);
 * - indexes that let deletion find sessions by collector and dimension rows
 *   find their last reference.
 * The audit tables have no foreign keys: they outlive what they describe.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE workspaces ADD COLUMN retention_ms bigint CHECK (retention_ms > 0)`.execute(db);

  await sql`
    CREATE TABLE ingest_audit (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      workspace_id uuid NOT NULL,
      collector_id uuid NOT NULL,
      batch_id text NOT NULL,
      method text NOT NULL,
      received_at timestamptz NOT NULL,
      duration_ms double precision NOT NULL,
      request_bytes bigint NOT NULL,
      sessions_in integer NOT NULL,
      messages_in integer NOT NULL,
      created integer NOT NULL,
      updated integer NOT NULL,
      duplicate integer NOT NULL,
      failed integer NOT NULL,
      replayed boolean NOT NULL,
      grpc_code text NOT NULL,
      first_error text
    )`.execute(db);
  await sql`CREATE INDEX ingest_audit_received_idx ON ingest_audit (received_at)`.execute(db);
  await sql`CREATE INDEX ingest_audit_workspace_idx ON ingest_audit (workspace_id, received_at)`.execute(db);
  await sql`CREATE INDEX ingest_audit_batch_idx ON ingest_audit (batch_id)`.execute(db);

  await sql`
    CREATE TABLE admin_audit (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT now(),
      actor text NOT NULL,
      action text NOT NULL,
      target json NOT NULL,
      counts json NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX admin_audit_at_idx ON admin_audit (at)`.execute(db);

  await sql`CREATE INDEX sessions_collector_idx ON sessions (collector_id)`.execute(db);
  await sql`CREATE INDEX sessions_project_idx ON sessions (project_id)`.execute(db);
  await sql`CREATE INDEX sessions_developer_idx ON sessions (developer_id)`.execute(db);
  await sql`CREATE INDEX sessions_backing_model_idx ON sessions (backing_model_id)`.execute(db);
  await sql`CREATE INDEX threads_session_idx ON threads (session_id)`.execute(db);
  await sql`CREATE INDEX developers_email_idx ON developers (workspace_id, email)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const index of [
    'developers_email_idx',
    'threads_session_idx',
    'sessions_backing_model_idx',
    'sessions_developer_idx',
    'sessions_project_idx',
    'sessions_collector_idx',
  ]) {
    await sql`DROP INDEX IF EXISTS ${sql.id(index)}`.execute(db);
  }
  await sql`DROP TABLE IF EXISTS admin_audit`.execute(db);
  await sql`DROP TABLE IF EXISTS ingest_audit`.execute(db);
  await sql`ALTER TABLE workspaces DROP COLUMN IF EXISTS retention_ms`.execute(db);
}
