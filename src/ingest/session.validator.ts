import type { IngestLimits } from '../config/config';
import {
  AuthorRole,
  MessageType,
  type Message,
  type Session,
  type Thread,
} from '../../generated/catsyphon/telemetry/v1/sessions';
import { describeCycle, firstParentCycle } from './thread-links';

/** A validation failure: a human message and the proto field path it concerns. */
export interface ValidationIssue {
  readonly message: string;
  readonly field: string;
}

/**
 * A parent_thread_id that names no thread of the request: the parent may be
 * stored already, arrive later, or never. Such a thread is stored with the
 * parent's source id; the writer checks it forms no cycle with stored threads.
 */
export interface UnresolvedParent {
  readonly parentThreadId: string;
  readonly field: string;
}

export type ValidationResult =
  | { readonly kind: 'valid'; readonly unresolvedParents: readonly UnresolvedParent[] }
  | { readonly kind: 'invalid'; readonly issue: ValidationIssue };

/** A check's finding: the first problem, or undefined when there is none. */
type Finding = ValidationIssue | undefined;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const issue = (field: string, message: string): ValidationIssue => ({ field, message });

/** UTF-8 length check that only measures strings that could be too long. */
function checkBytes(value: string, limit: number, field: string): Finding {
  if (value.length * 3 <= limit) return undefined;
  const bytes = Buffer.byteLength(value, 'utf8');
  return bytes > limit ? issue(field, `${field} is ${bytes} bytes, more than the limit of ${limit}`) : undefined;
}

/** Short strings live in PostgreSQL `text` columns, which cannot hold NUL. */
function checkText(value: string, limits: IngestLimits, field: string): Finding {
  return (
    checkBytes(value, limits.maxStringBytes, field) ??
    (value.includes('\u0000') ? issue(field, `${field} must not contain NUL characters`) : undefined)
  );
}

function checkOptionalText(value: string | undefined, limits: IngestLimits, field: string): Finding {
  return value === undefined ? undefined : checkText(value, limits, field);
}

function checkNs(value: bigint | undefined, field: string): Finding {
  if (value === undefined) return undefined;
  if (typeof value !== 'bigint' || value < INT64_MIN || value > INT64_MAX) {
    return issue(field, `${field} must be an int64 count of nanoseconds since the Unix epoch`);
  }
  return undefined;
}

function checkMetadata(map: { [key: string]: string }, limits: IngestLimits, field: string): Finding {
  let entries = 0;
  for (const key in map) {
    entries++;
    if (entries > limits.maxMetadataEntries) return issue(field, `${field} has more than ${limits.maxMetadataEntries} entries`);
    const found =
      checkBytes(key, limits.maxStringBytes, `${field}[${JSON.stringify(key)}]`) ??
      checkBytes(map[key], limits.maxMetadataValueBytes, `${field}[${JSON.stringify(key)}]`);
    if (found) return found;
  }
  return undefined;
}

/**
 * Checks one session of a batch. `path` is its field path, e.g. `sessions[3]`.
 * Returns the first problem found, or, when there is none, the parents that
 * are not in the request (`unresolvedParents`: allowed, they may be stored or
 * arrive later; the writer checks them for cycles with stored threads).
 * Never throws.
 */
export function validateSession(session: Session, path: string, limits: IngestLimits): ValidationResult {
  const unresolved: UnresolvedParent[] = [];
  const found = checkSession(session, path, limits, unresolved);
  return found ? { kind: 'invalid', issue: found } : { kind: 'valid', unresolvedParents: unresolved };
}

function checkSession(s: Session, path: string, limits: IngestLimits, unresolved: UnresolvedParent[]): Finding {
  if (s.id === '') return issue(`${path}.id`, 'session id must not be empty');
  const m = s.backingModel;
  const p = s.project;
  const d = s.developer;
  const g = s.gitContext;
  const found =
    checkText(s.id, limits, `${path}.id`) ??
    (m &&
      (checkText(m.provider, limits, `${path}.backing_model.provider`) ??
        checkText(m.modelId, limits, `${path}.backing_model.model_id`) ??
        checkOptionalText(m.displayName, limits, `${path}.backing_model.display_name`))) ??
    (p &&
      (checkText(p.path, limits, `${path}.project.path`) ??
        checkText(p.name, limits, `${path}.project.name`) ??
        checkMetadata(p.metadata, limits, `${path}.project.metadata`))) ??
    (d &&
      (checkText(d.username, limits, `${path}.developer.username`) ??
        checkOptionalText(d.email, limits, `${path}.developer.email`) ??
        checkMetadata(d.metadata, limits, `${path}.developer.metadata`))) ??
    checkNs(s.startedAtNs, `${path}.started_at_ns`) ??
    checkNs(s.lastActivityAtNs, `${path}.last_activity_at_ns`) ??
    (g &&
      (checkOptionalText(g.branch, limits, `${path}.git_context.branch`) ??
        checkOptionalText(g.commitSha, limits, `${path}.git_context.commit_sha`) ??
        checkOptionalText(g.remoteUrl, limits, `${path}.git_context.remote_url`))) ??
    checkMetadata(s.metadata, limits, `${path}.metadata`);
  if (found) return found;
  return checkThreads(s, path, limits, unresolved) ?? checkPlans(s, path, limits);
}

function checkThreads(s: Session, path: string, limits: IngestLimits, unresolved: UnresolvedParent[]): Finding {
  const threadIds = new Set<string>();
  for (let i = 0; i < s.threads.length; i++) {
    const t = s.threads[i];
    if (t.id === '') return issue(`${path}.threads[${i}].id`, 'thread id must not be empty');
    if (threadIds.has(t.id)) {
      return issue(`${path}.threads[${i}].id`, `thread id ${JSON.stringify(t.id)} appears twice in the session`);
    }
    threadIds.add(t.id);
  }
  for (let i = 0; i < s.threads.length; i++) {
    const t = s.threads[i];
    const tp = `${path}.threads[${i}]`;
    const found = checkThread(t, tp, limits);
    if (found) return found;
    if (t.parentThreadId === t.id) {
      return issue(`${tp}.parent_thread_id`, `thread ${JSON.stringify(t.id)} names itself as its parent`);
    }
    if (t.parentThreadId !== undefined && !threadIds.has(t.parentThreadId)) {
      unresolved.push({ parentThreadId: t.parentThreadId, field: `${tp}.parent_thread_id` });
    }
  }
  const order = s.threads.map((t) => t.id);
  const cycle = firstParentCycle(order, new Map(s.threads.map((t) => [t.id, t.parentThreadId])));
  if (!cycle) return undefined;
  const at = order.indexOf(cycle[0]);
  return issue(`${path}.threads[${at}].parent_thread_id`, `parent_thread_id forms a cycle: ${describeCycle(cycle)}`);
}

function checkPlans(s: Session, path: string, limits: IngestLimits): Finding {
  const planIds = new Set<string>();
  for (let i = 0; i < s.plans.length; i++) {
    const p = s.plans[i];
    const pp = `${path}.plans[${i}]`;
    if (p.id === '') return issue(`${pp}.id`, 'plan id must not be empty');
    const id = checkText(p.id, limits, `${pp}.id`);
    if (id) return id;
    if (planIds.has(p.id)) return issue(`${pp}.id`, `plan id ${JSON.stringify(p.id)} appears twice in the session`);
    planIds.add(p.id);
    const found =
      checkText(p.path, limits, `${pp}.path`) ??
      checkOptionalText(p.title, limits, `${pp}.title`) ??
      (p.content === undefined ? undefined : checkBytes(p.content, limits.maxContentBytes, `${pp}.content`)) ??
      checkNs(p.createdAtNs, `${pp}.created_at_ns`) ??
      checkNs(p.updatedAtNs, `${pp}.updated_at_ns`);
    if (found) return found;
  }
  return undefined;
}

function checkThread(t: Thread, tp: string, limits: IngestLimits): Finding {
  const found =
    checkText(t.id, limits, `${tp}.id`) ??
    checkOptionalText(t.parentThreadId, limits, `${tp}.parent_thread_id`) ??
    checkOptionalText(t.spawnedByMessageId, limits, `${tp}.spawned_by_message_id`) ??
    checkNs(t.startedAtNs, `${tp}.started_at_ns`) ??
    checkNs(t.endedAtNs, `${tp}.ended_at_ns`) ??
    checkNs(t.lastActivityAtNs, `${tp}.last_activity_at_ns`) ??
    checkMetadata(t.metadata, limits, `${tp}.metadata`);
  if (found) return found;
  const seqs = new Set<number>();
  for (let k = 0; k < t.messages.length; k++) {
    const m = t.messages[k];
    const mp = `${tp}.messages[${k}]`;
    if (!Number.isInteger(m.seq) || m.seq < 1 || m.seq > 2147483647) return issue(`${mp}.seq`, 'seq must be at least 1');
    if (seqs.has(m.seq)) return issue(`${mp}.seq`, `seq ${m.seq} appears twice in thread ${JSON.stringify(t.id)}`);
    seqs.add(m.seq);
    const inMessage = checkMessage(m, mp, limits);
    if (inMessage) return inMessage;
  }
  return undefined;
}

function checkMessage(m: Message, mp: string, limits: IngestLimits): Finding {
  if (m.authorRole === AuthorRole.AUTHOR_ROLE_UNSPECIFIED) return issue(`${mp}.author_role`, 'author_role must be set');
  if (m.messageType === MessageType.MESSAGE_TYPE_UNSPECIFIED) return issue(`${mp}.message_type`, 'message_type must be set');
  const found =
    checkOptionalText(m.authorName, limits, `${mp}.author_name`) ??
    checkBytes(m.content, limits.maxContentBytes, `${mp}.content`) ??
    checkNs(m.emittedAtNs, `${mp}.emitted_at_ns`) ??
    checkNs(m.observedAtNs, `${mp}.observed_at_ns`);
  if (found) return found;
  for (let i = 0; i < m.toolCalls.length; i++) {
    const c = m.toolCalls[i];
    const cp = `${mp}.tool_calls[${i}]`;
    const inCall =
      checkBytes(c.id, limits.maxStringBytes, `${cp}.id`) ??
      checkBytes(c.name, limits.maxStringBytes, `${cp}.name`) ??
      checkBytes(c.input, limits.maxContentBytes, `${cp}.input`);
    if (inCall) return inCall;
  }
  const r = m.toolResult;
  const inResult =
    r &&
    (checkBytes(r.toolCallId, limits.maxStringBytes, `${mp}.tool_result.tool_call_id`) ??
      checkBytes(r.content, limits.maxContentBytes, `${mp}.tool_result.content`));
  if (inResult) return inResult;
  for (let i = 0; i < m.filesTouched.length; i++) {
    const f = m.filesTouched[i];
    const inFile =
      checkText(f.path, limits, `${mp}.files_touched[${i}].path`) ??
      checkNs(f.timestampNs, `${mp}.files_touched[${i}].timestamp_ns`);
    if (inFile) return inFile;
  }
  if (m.rawData.length > limits.maxRawDataBytes) {
    return issue(`${mp}.raw_data`, `${mp}.raw_data is ${m.rawData.length} bytes, more than the limit of ${limits.maxRawDataBytes}`);
  }
  return checkMetadata(m.metadata, limits, `${mp}.metadata`);
}
