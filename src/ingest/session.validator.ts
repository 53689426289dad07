import type { IngestLimits } from '../config/config';
import {
  AuthorRole,
  MessageType,
  type Message,
  type Session,
  type Thread,
} from '../../generated/catsyphon/telemetry/v1/sessions';

/** A validation failure: a human message and the proto field path it concerns. */
export interface ValidationIssue {
  readonly message: string;
  readonly field: string;
}

/** A parent_thread_id that names no thread of the request: it must already be stored. */
export interface UnresolvedParent {
  readonly parentThreadId: string;
  readonly field: string;
}

export type ValidationResult =
  | { readonly ok: true; readonly unresolvedParents: readonly UnresolvedParent[] }
  | { readonly ok: false; readonly issue: ValidationIssue };

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

class Invalid extends Error {
  constructor(readonly issue: ValidationIssue) {
    super(issue.message);
  }
}

const fail = (field: string, message: string): never => {
  throw new Invalid({ field, message });
};

/** UTF-8 length check that only measures strings that could be too long. */
function checkBytes(value: string, limit: number, field: string): void {
  if (value.length * 3 <= limit) return;
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > limit) fail(field, `${field} is ${bytes} bytes, more than the limit of ${limit}`);
}

/** Short strings live in PostgreSQL `text` columns, which cannot hold NUL. */
function checkText(value: string, limits: IngestLimits, field: string): void {
  checkBytes(value, limits.maxStringBytes, field);
  if (value.includes('\u0000')) fail(field, `${field} must not contain NUL characters`);
}

function checkOptionalText(value: string | undefined, limits: IngestLimits, field: string): void {
  if (value !== undefined) checkText(value, limits, field);
}

function checkNs(value: bigint | undefined, field: string): void {
  if (value === undefined) return;
  if (typeof value !== 'bigint' || value < INT64_MIN || value > INT64_MAX) {
    fail(field, `${field} must be an int64 count of nanoseconds since the Unix epoch`);
  }
}

function checkMetadata(map: { [key: string]: string }, limits: IngestLimits, field: string): void {
  let entries = 0;
  for (const key in map) {
    entries++;
    if (entries > limits.maxMetadataEntries) {
      fail(field, `${field} has more than ${limits.maxMetadataEntries} entries`);
    }
    checkBytes(key, limits.maxStringBytes, `${field}[${JSON.stringify(key)}]`);
    checkBytes(map[key], limits.maxMetadataValueBytes, `${field}[${JSON.stringify(key)}]`);
  }
}

/**
 * Checks one session of a batch. `path` is its field path, e.g. `sessions[3]`.
 * Checks that need the database (a parent thread stored by an earlier export)
 * are returned as `unresolvedParents` for the ingest service to finish.
 */
export function validateSession(session: Session, path: string, limits: IngestLimits): ValidationResult {
  try {
    return { ok: true, unresolvedParents: check(session, path, limits) };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, issue: err.issue };
    throw err;
  }
}

function check(s: Session, path: string, limits: IngestLimits): UnresolvedParent[] {
  if (s.id === '') fail(`${path}.id`, 'session id must not be empty');
  checkText(s.id, limits, `${path}.id`);
  if (s.backingModel) {
    checkText(s.backingModel.provider, limits, `${path}.backing_model.provider`);
    checkText(s.backingModel.modelId, limits, `${path}.backing_model.model_id`);
    checkOptionalText(s.backingModel.displayName, limits, `${path}.backing_model.display_name`);
  }
  if (s.project) {
    checkText(s.project.path, limits, `${path}.project.path`);
    checkText(s.project.name, limits, `${path}.project.name`);
    checkMetadata(s.project.metadata, limits, `${path}.project.metadata`);
  }
  if (s.developer) {
    checkText(s.developer.username, limits, `${path}.developer.username`);
    checkOptionalText(s.developer.email, limits, `${path}.developer.email`);
    checkMetadata(s.developer.metadata, limits, `${path}.developer.metadata`);
  }
  checkNs(s.startedAtNs, `${path}.started_at_ns`);
  checkNs(s.lastActivityAtNs, `${path}.last_activity_at_ns`);
  if (s.gitContext) {
    checkOptionalText(s.gitContext.branch, limits, `${path}.git_context.branch`);
    checkOptionalText(s.gitContext.commitSha, limits, `${path}.git_context.commit_sha`);
    checkOptionalText(s.gitContext.remoteUrl, limits, `${path}.git_context.remote_url`);
  }
  checkMetadata(s.metadata, limits, `${path}.metadata`);

  const threadIds = new Set<string>();
  s.threads.forEach((t, i) => {
    const tp = `${path}.threads[${i}]`;
    if (t.id === '') fail(`${tp}.id`, 'thread id must not be empty');
    if (threadIds.has(t.id)) fail(`${tp}.id`, `thread id ${JSON.stringify(t.id)} appears twice in the session`);
    threadIds.add(t.id);
  });
  const unresolved: UnresolvedParent[] = [];
  s.threads.forEach((t, i) => {
    const tp = `${path}.threads[${i}]`;
    checkThread(t, tp, limits);
    if (t.parentThreadId !== undefined && !threadIds.has(t.parentThreadId)) {
      unresolved.push({ parentThreadId: t.parentThreadId, field: `${tp}.parent_thread_id` });
    }
  });

  const planIds = new Set<string>();
  s.plans.forEach((p, i) => {
    const pp = `${path}.plans[${i}]`;
    if (p.id === '') fail(`${pp}.id`, 'plan id must not be empty');
    checkText(p.id, limits, `${pp}.id`);
    if (planIds.has(p.id)) fail(`${pp}.id`, `plan id ${JSON.stringify(p.id)} appears twice in the session`);
    planIds.add(p.id);
    checkText(p.path, limits, `${pp}.path`);
    checkOptionalText(p.title, limits, `${pp}.title`);
    if (p.content !== undefined) checkBytes(p.content, limits.maxContentBytes, `${pp}.content`);
    checkNs(p.createdAtNs, `${pp}.created_at_ns`);
    checkNs(p.updatedAtNs, `${pp}.updated_at_ns`);
  });
  return unresolved;
}

function checkThread(t: Thread, tp: string, limits: IngestLimits): void {
  checkText(t.id, limits, `${tp}.id`);
  checkOptionalText(t.parentThreadId, limits, `${tp}.parent_thread_id`);
  checkOptionalText(t.spawnedByMessageId, limits, `${tp}.spawned_by_message_id`);
  checkNs(t.startedAtNs, `${tp}.started_at_ns`);
  checkNs(t.endedAtNs, `${tp}.ended_at_ns`);
  checkNs(t.lastActivityAtNs, `${tp}.last_activity_at_ns`);
  checkMetadata(t.metadata, limits, `${tp}.metadata`);
  const seqs = new Set<number>();
  t.messages.forEach((m, k) => {
    const mp = `${tp}.messages[${k}]`;
    if (!Number.isInteger(m.seq) || m.seq < 1 || m.seq > 2147483647) fail(`${mp}.seq`, 'seq must be at least 1');
    if (seqs.has(m.seq)) fail(`${mp}.seq`, `seq ${m.seq} appears twice in thread ${JSON.stringify(t.id)}`);
    seqs.add(m.seq);
    checkMessage(m, mp, limits);
  });
}

function checkMessage(m: Message, mp: string, limits: IngestLimits): void {
  if (m.authorRole === AuthorRole.AUTHOR_ROLE_UNSPECIFIED) fail(`${mp}.author_role`, 'author_role must be set');
  if (m.messageType === MessageType.MESSAGE_TYPE_UNSPECIFIED) fail(`${mp}.message_type`, 'message_type must be set');
  checkOptionalText(m.authorName, limits, `${mp}.author_name`);
  checkBytes(m.content, limits.maxContentBytes, `${mp}.content`);
  checkNs(m.emittedAtNs, `${mp}.emitted_at_ns`);
  checkNs(m.observedAtNs, `${mp}.observed_at_ns`);
  m.toolCalls.forEach((c, i) => {
    const cp = `${mp}.tool_calls[${i}]`;
    checkBytes(c.id, limits.maxStringBytes, `${cp}.id`);
    checkBytes(c.name, limits.maxStringBytes, `${cp}.name`);
    checkBytes(c.input, limits.maxContentBytes, `${cp}.input`);
  });
  if (m.toolResult) {
    checkBytes(m.toolResult.toolCallId, limits.maxStringBytes, `${mp}.tool_result.tool_call_id`);
    checkBytes(m.toolResult.content, limits.maxContentBytes, `${mp}.tool_result.content`);
  }
  m.filesTouched.forEach((f, i) => {
    checkText(f.path, limits, `${mp}.files_touched[${i}].path`);
    checkNs(f.timestampNs, `${mp}.files_touched[${i}].timestamp_ns`);
  });
  if (m.rawData.length > limits.maxRawDataBytes) {
    fail(`${mp}.raw_data`, `${mp}.raw_data is ${m.rawData.length} bytes, more than the limit of ${limits.maxRawDataBytes}`);
  }
  checkMetadata(m.metadata, limits, `${mp}.metadata`);
}
