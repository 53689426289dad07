import { createHash } from 'node:crypto';
import type { Insertable } from 'kysely';
import type { SessionsTable } from '../db/schema';
import type {
  BackingModel,
  Developer,
  Message,
  Plan,
  Project,
  Session,
  Thread,
  ToolCall,
  ToolResult,
} from '../../generated/catsyphon/telemetry/v1/sessions';

/**
 * Proto <-> row conversions. The storage conventions (src/db/schema.ts):
 * ns as bigint, NUL-safe text pairs, maps and tool lists as `json` text.
 */

export type Metadata = { [key: string]: string };

/** A string for a text/bytea pair: text unless it holds NUL, which `text` rejects. */
export function splitText(value: string): { text: string | null; bin: Buffer | null } {
  return value.includes('\u0000') ? { text: null, bin: Buffer.from(value, 'utf8') } : { text: value, bin: null };
}

export function joinText(text: string | null, bin: Buffer | Uint8Array | null): string | undefined {
  if (text !== null) return text;
  if (bin !== null) return Buffer.from(bin.buffer, bin.byteOffset, bin.byteLength).toString('utf8');
  return undefined;
}

export const metadataJson = (map: Metadata): string => JSON.stringify(map);

/** A json column comes back parsed on both drivers; a string only if a driver left it raw. */
export function parseJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

export function metadataFrom(value: unknown): Metadata {
  const parsed = parseJson<Metadata>(value);
  // Rebuild without a prototype so keys such as "__proto__" stay plain entries.
  const out: Metadata = {};
  for (const key of Object.keys(parsed)) out[key] = parsed[key];
  return out;
}

/** Whether two metadata maps hold the same entries (order does not matter). */
export function sameMetadata(a: Metadata, b: Metadata): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (b[k] !== a[k] || !Object.prototype.hasOwnProperty.call(b, k)) return false;
  return true;
}

function sortedEntries(map: Metadata): [string, string][] {
  return Object.keys(map)
    .sort()
    .map((k) => [k, map[k]]);
}

export function projectFingerprint(p: Project): Buffer {
  return createHash('sha256').update(JSON.stringify(['project', p.path, p.name, sortedEntries(p.metadata)])).digest();
}

export function developerFingerprint(d: Developer): Buffer {
  return createHash('sha256')
    .update(JSON.stringify(['developer', d.username, d.email ?? null, sortedEntries(d.metadata)]))
    .digest();
}

interface StoredToolCall {
  id: string;
  name: string;
  input: string;
}

interface StoredToolResult {
  tool_call_id: string;
  content: string;
  success: boolean;
  duration_ms?: string;
}

export function toolCallsJson(calls: readonly ToolCall[]): string {
  return JSON.stringify(calls.map((c): StoredToolCall => ({ id: c.id, name: c.name, input: c.input })));
}

export function toolCallsFrom(value: unknown): ToolCall[] {
  return parseJson<StoredToolCall[]>(value).map((c) => ({ id: c.id, name: c.name, input: c.input }));
}

export function toolResultJson(r: ToolResult | undefined): string | null {
  if (!r) return null;
  const stored: StoredToolResult = { tool_call_id: r.toolCallId, content: r.content, success: r.success };
  if (r.durationMs !== undefined) stored.duration_ms = r.durationMs.toString();
  return JSON.stringify(stored);
}

export function toolResultFrom(value: unknown): ToolResult | undefined {
  if (value === null || value === undefined) return undefined;
  const r = parseJson<StoredToolResult>(value);
  return {
    toolCallId: r.tool_call_id,
    content: r.content,
    success: r.success,
    durationMs: r.duration_ms === undefined ? undefined : BigInt(r.duration_ms),
  };
}

/** Columns of a session row that come from the request (not its key, not ids of other rows). */
type RequestColumns =
  | 'status'
  | 'started_at_ns'
  | 'last_activity_at_ns'
  | 'backing_model_display_name'
  | 'has_git_context'
  | 'git_branch'
  | 'git_commit_sha'
  | 'git_is_clean'
  | 'git_remote_url'
  | 'metadata';

/**
 * Their values as sessionFields writes them, derived from the table type:
 * every column present, and int8 as decimal text (exact, and comparable with
 * a stored row's values as text).
 */
export type SessionFields = Omit<Required<Pick<Insertable<SessionsTable>, RequestColumns>>, 'started_at_ns' | 'last_activity_at_ns'> & {
  started_at_ns: string;
  last_activity_at_ns: string;
};

export function sessionFields(s: Session): SessionFields {
  const g = s.gitContext;
  return {
    status: s.status,
    started_at_ns: s.startedAtNs.toString(),
    last_activity_at_ns: s.lastActivityAtNs.toString(),
    backing_model_display_name: s.backingModel?.displayName ?? null,
    has_git_context: g !== undefined,
    git_branch: g?.branch ?? null,
    git_commit_sha: g?.commitSha ?? null,
    git_is_clean: g?.isClean ?? null,
    git_remote_url: g?.remoteUrl ?? null,
    metadata: metadataJson(s.metadata),
  };
}

export function projectRow(workspaceId: string, p: Project, fingerprint: Buffer) {
  return { workspace_id: workspaceId, path: p.path, name: p.name, metadata: metadataJson(p.metadata), fingerprint };
}

export function developerRow(workspaceId: string, d: Developer, fingerprint: Buffer) {
  return {
    workspace_id: workspaceId,
    username: d.username,
    email: d.email ?? null,
    metadata: metadataJson(d.metadata),
    fingerprint,
  };
}

export function backingModelRow(m: BackingModel) {
  return { provider: m.provider, model_id: m.modelId, display_name: m.displayName ?? null };
}

export function threadRow(sessionId: string, t: Thread) {
  return {
    session_id: sessionId,
    source_thread_id: t.id,
    parent_thread_id: t.parentThreadId ?? null,
    type: t.type,
    spawned_by_message_id: t.spawnedByMessageId ?? null,
    started_at_ns: t.startedAtNs.toString(),
    ended_at_ns: t.endedAtNs === undefined ? null : t.endedAtNs.toString(),
    last_activity_at_ns: t.lastActivityAtNs.toString(),
    metadata: metadataJson(t.metadata),
  };
}

export function messageRow(sessionId: string, threadId: string, m: Message) {
  const content = splitText(m.content);
  const tokens = m.tokens;
  return {
    thread_id: threadId,
    seq: m.seq,
    session_id: sessionId,
    author_role: m.authorRole,
    author_name: m.authorName ?? null,
    message_type: m.messageType,
    content: content.text,
    content_bin: content.bin,
    emitted_at_ns: m.emittedAtNs.toString(),
    observed_at_ns: m.observedAtNs.toString(),
    input_tokens: tokens ? tokens.inputTokens : null,
    output_tokens: tokens ? tokens.outputTokens : null,
    cache_creation_tokens: tokens ? tokens.cacheCreationTokens : null,
    cache_read_tokens: tokens ? tokens.cacheReadTokens : null,
    tool_calls: toolCallsJson(m.toolCalls),
    tool_result: toolResultJson(m.toolResult),
    raw_data: m.rawData,
    metadata: metadataJson(m.metadata),
  };
}

export function fileRows(sessionId: string, threadId: string, m: Message) {
  return m.filesTouched.map((f, ordinal) => ({
    thread_id: threadId,
    seq: m.seq,
    ordinal,
    session_id: sessionId,
    path: f.path,
    change_type: f.changeType,
    lines_added: f.linesAdded,
    lines_deleted: f.linesDeleted,
    timestamp_ns: f.timestampNs.toString(),
  }));
}

export function planRow(sessionId: string, p: Plan) {
  const content = p.content === undefined ? { text: null, bin: null } : splitText(p.content);
  return {
    session_id: sessionId,
    plan_id: p.id,
    path: p.path,
    title: p.title ?? null,
    status: p.status,
    content: content.text,
    content_bin: content.bin,
    created_at_ns: p.createdAtNs.toString(),
    updated_at_ns: p.updatedAtNs === undefined ? null : p.updatedAtNs.toString(),
  };
}
