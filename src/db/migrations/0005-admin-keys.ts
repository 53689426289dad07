import { type Kysely, sql } from 'kysely';

/**
 * Admin keys (`cs_admin_…`): credentials for the admin service on the gRPC
 * port (ADMIN_API=on). Stored like collector keys: a unique lookup prefix and
 * a bcrypt hash, never the key. A key with a workspace may only see and change
 * that workspace; without one it may do everything. Revoked rows stay.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE admin_keys (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL,
      workspace_id uuid REFERENCES workspaces(id),
      key_prefix text NOT NULL UNIQUE,
      key_hash text NOT NULL,
      is_active boolean NOT NULL DEFAULT true,
      expires_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE admin_keys`.execute(db);
}
