import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * Kysely's view of the schema created by src/db/migrations.
 *
 * Conventions:
 * - `*_ns` columns hold exact int64 nanoseconds since the Unix epoch
 *   (bigint, read back as BigInt).
 * - Text that may contain NUL, which PostgreSQL `text` rejects, is stored in a
 *   pair: `x` (text) normally, `x_bin` (bytea, UTF-8) when it holds a NUL.
 * - Maps and nested lists are stored as `json` (not `jsonb`): json keeps
 *   `\u0000` escapes and key order, so every string survives exactly.
 */

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Int8 = ColumnType<bigint, bigint | number | string, bigint | number | string>;
type Json = ColumnType<unknown, string, string>;

export interface WorkspacesTable {
  id: Generated<string>;
  name: string;
  slug: string;
  created_at: Generated<Timestamp>;
  /** How long sessions are kept after their last activity (migration 0004); null keeps them. */
  retention_ms: Int8 | null;
}

export interface CollectorsTable {
  id: Generated<string>;
  workspace_id: string;
  name: string;
  type: string;
  key_prefix: string;
  key_hash: string;
  is_active: Generated<boolean>;
  expires_at: Timestamp | null;
  rate_limit_requests_per_min: number | null;
  rate_limit_messages_per_min: number | null;
  hostname: string | null;
  version: string | null;
  created_at: Generated<Timestamp>;
  updated_at: Generated<Timestamp>;
  last_seen_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface ProjectsTable {
  id: Generated<Int8>;
  workspace_id: string;
  path: string;
  name: string;
  metadata: Json;
  /** SHA-256 of (path, name, metadata): one row per distinct snapshot. */
  fingerprint: Buffer;
  created_at: Generated<Timestamp>;
}

export interface DevelopersTable {
  id: Generated<Int8>;
  workspace_id: string;
  username: string;
  email: string | null;
  metadata: Json;
  /** SHA-256 of (username, email, metadata): one row per distinct snapshot. */
  fingerprint: Buffer;
  created_at: Generated<Timestamp>;
}

export interface BackingModelsTable {
  id: Generated<Int8>;
  provider: string;
  model_id: string;
  /** The first display name seen; each session keeps its own exactly. */
  display_name: string | null;
  created_at: Generated<Timestamp>;
}

export interface SessionsTable {
  /** The catsyphon_id returned to collectors. */
  id: Generated<string>;
  workspace_id: string;
  assistant: number;
  source_session_id: string;
  collector_id: string | null;
  project_id: Int8 | null;
  developer_id: Int8 | null;
  backing_model_id: Int8 | null;
  backing_model_display_name: string | null;
  has_git_context: boolean;
  git_branch: string | null;
  git_commit_sha: string | null;
  git_is_clean: boolean | null;
  git_remote_url: string | null;
  status: number;
  started_at_ns: Int8;
  last_activity_at_ns: Int8;
  started_at: ColumnType<Date, never, never>;
  last_activity_at: ColumnType<Date, never, never>;
  metadata: Json;
  created_at: Generated<Timestamp>;
  updated_at: Generated<Timestamp>;
}

export interface ThreadsTable {
  id: Generated<Int8>;
  session_id: string;
  source_thread_id: string;
  parent_thread_id: string | null;
  type: number;
  spawned_by_message_id: string | null;
  started_at_ns: Int8;
  ended_at_ns: Int8 | null;
  last_activity_at_ns: Int8;
  metadata: Json;
  created_at: Generated<Timestamp>;
}

export interface MessagesTable {
  thread_id: Int8;
  seq: number;
  session_id: string;
  author_role: number;
  author_name: string | null;
  message_type: number;
  content: string | null;
  content_bin: Buffer | null;
  emitted_at_ns: Int8;
  observed_at_ns: Int8;
  /** All four token columns are null when the message carried no TokenUsage. */
  input_tokens: number | null;
  output_tokens: number | null;
  cache_creation_tokens: number | null;
  cache_read_tokens: number | null;
  /** JSON array of {id, name, input}. */
  tool_calls: Json;
  /** JSON {tool_call_id, content, success, duration_ms?} or null; duration_ms as a string. */
  tool_result: Json | null;
  raw_data: Buffer;
  metadata: Json;
  created_at: Generated<Timestamp>;
}

export interface FilesTouchedTable {
  thread_id: Int8;
  seq: number;
  ordinal: number;
  session_id: string;
  path: string;
  change_type: number;
  lines_added: number;
  lines_deleted: number;
  timestamp_ns: Int8;
}

export interface PlansTable {
  session_id: string;
  plan_id: string;
  path: string;
  title: string | null;
  status: number;
  content: string | null;
  content_bin: Buffer | null;
  created_at_ns: Int8;
  updated_at_ns: Int8 | null;
  /** Receive order (migration 0003); GetSession lists plans by it. */
  ordinal: ColumnType<bigint, never, never>;
  inserted_at: Generated<Timestamp>;
  updated_at: Generated<Timestamp>;
}

export interface IngestBatchesTable {
  workspace_id: string;
  batch_id: string;
  /** SHA-256 of the request payload, to refuse a reused id with other content. */
  request_hash: Buffer;
  state: 'in_progress' | 'done';
  /** The encoded ExportSessionsResponse, replayed byte for byte. */
  response: Buffer | null;
  owner: string | null;
  heartbeat_at: Generated<Timestamp>;
  created_at: Generated<Timestamp>;
  expires_at: Timestamp;
}

/** Admin keys (migration 0005): credentials of the network admin service. */
export interface AdminKeysTable {
  id: Generated<string>;
  name: string;
  /** Null: the key may administer every workspace. */
  workspace_id: string | null;
  key_prefix: string;
  key_hash: string;
  is_active: Generated<boolean>;
  expires_at: Timestamp | null;
  created_at: Generated<Timestamp>;
  revoked_at: Timestamp | null;
}

/** One authenticated export call (migration 0004); no foreign keys, it outlives what it describes. */
export interface IngestAuditTable {
  id: Generated<Int8>;
  workspace_id: string;
  collector_id: string;
  batch_id: string;
  method: string;
  received_at: Timestamp;
  duration_ms: number;
  request_bytes: Int8;
  sessions_in: number;
  messages_in: number;
  created: number;
  updated: number;
  duplicate: number;
  failed: number;
  /** Answered from the idempotency record; nothing was stored. */
  replayed: boolean;
  grpc_code: string;
  first_error: string | null;
}

/** One deletion or retention sweep: who, what, when and how many rows (never the content). */
export interface AdminAuditTable {
  id: Generated<Int8>;
  at: Generated<Timestamp>;
  actor: string;
  action: string;
  target: Json;
  counts: Json;
}

/** One row per running replica (migration 0006): the divisor of cluster-wide rate limits. */
export interface ReplicaHeartbeatsTable {
  replica_id: string;
  hostname: string;
  /** Both default to now() (the database's clock) when not given. */
  started_at: Timestamp;
  beat_at: Timestamp;
}

export interface DB {
  workspaces: WorkspacesTable;
  collectors: CollectorsTable;
  admin_keys: AdminKeysTable;
  projects: ProjectsTable;
  developers: DevelopersTable;
  backing_models: BackingModelsTable;
  sessions: SessionsTable;
  threads: ThreadsTable;
  messages: MessagesTable;
  files_touched: FilesTouchedTable;
  plans: PlansTable;
  ingest_batches: IngestBatchesTable;
  ingest_audit: IngestAuditTable;
  admin_audit: AdminAuditTable;
  replica_heartbeats: ReplicaHeartbeatsTable;
}

export type WorkspaceRow = Selectable<WorkspacesTable>;
export type CollectorRow = Selectable<CollectorsTable>;
export type NewCollector = Insertable<CollectorsTable>;
export type CollectorUpdate = Updateable<CollectorsTable>;
export type AdminKeyRow = Selectable<AdminKeysTable>;
export type SessionRow = Selectable<SessionsTable>;
export type ThreadRow = Selectable<ThreadsTable>;
export type MessageRow = Selectable<MessagesTable>;
export type NewMessage = Insertable<MessagesTable>;
export type FileTouchedRow = Selectable<FilesTouchedTable>;
export type PlanRow = Selectable<PlansTable>;
export type IngestBatchRow = Selectable<IngestBatchesTable>;
