import type { SessionSummary, StoredSession } from '../lifecycle/lifecycle-api';
import {
  activityStatusToJSON,
  authorRoleToJSON,
  fileChangeTypeToJSON,
  type Message,
  messageTypeToJSON,
  planStatusToJSON,
  threadTypeToJSON,
} from '../../generated/catsyphon/telemetry/v1/sessions';

/** Human-readable renderings of stored sessions for `sessions show`. */

const nsIso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();
/** The enum name without its type prefix, lower-cased: ASSISTANT_CLAUDE_CODE -> claude_code. */
export const shortEnum = (name: string, prefix: string) =>
  (name.startsWith(prefix) ? name.slice(prefix.length) : name).toLowerCase();
const indent = (text: string, pad: string) =>
  text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`);

export function describeSummary(s: SessionSummary): string {
  return [
    `session ${s.sourceSessionId}`,
    `  catsyphon id:  ${s.id}`,
    `  assistant:     ${shortEnum(s.assistant, 'ASSISTANT_')}`,
    `  workspace:     ${s.workspaceSlug} (${s.workspaceId})`,
    `  collector:     ${s.collectorName ?? '-'}${s.collectorId ? ` (${s.collectorId})` : ''}`,
    `  project:       ${s.project ?? '-'}`,
    `  developer:     ${s.developer ?? '-'}`,
    `  activity:      ${s.startedAt} .. ${s.lastActivityAt}`,
    `  threads:       ${s.threads}, messages: ${s.messages}`,
  ].join('\n');
}

/** The summary, the model and git context, threads and plans; with `messages`, every message in order. */
export function describeSession(stored: StoredSession, messages: boolean): string {
  const s = stored.response.session;
  const out = [describeSummary(stored.summary)];
  if (!s) return out.join('\n');
  out.push(`  status:        ${shortEnum(activityStatusToJSON(s.status), 'ACTIVITY_STATUS_')}`);
  if (s.backingModel) {
    out.push(`  model:         ${s.backingModel.provider}/${s.backingModel.modelId}${s.backingModel.displayName ? ` (${s.backingModel.displayName})` : ''}`);
  }
  if (s.gitContext) {
    const g = s.gitContext;
    out.push(`  git:           ${g.branch ?? '?'} @ ${g.commitSha ?? '?'}${g.isClean === false ? ' (dirty)' : ''}${g.remoteUrl ? ` ${g.remoteUrl}` : ''}`);
  }
  for (const p of s.plans) {
    out.push(`  plan:          ${p.title ?? p.id} [${shortEnum(planStatusToJSON(p.status), 'PLAN_STATUS_')}] ${p.path}`);
  }
  for (const t of s.threads) {
    out.push('');
    const parent = t.parentThreadId ? `, parent ${t.parentThreadId}` : '';
    out.push(`── thread ${t.id} (${shortEnum(threadTypeToJSON(t.type), 'THREAD_TYPE_')}${parent}, ${t.messages.length} messages)`);
    if (messages) for (const m of t.messages) out.push(describeMessage(m));
  }
  if (!messages && s.threads.some((t) => t.messages.length > 0)) out.push('', '(add --messages for the transcript)');
  return out.join('\n');
}

function describeMessage(m: Message): string {
  const role = m.authorName ?? shortEnum(authorRoleToJSON(m.authorRole), 'AUTHOR_ROLE_');
  const lines = [`[${nsIso(m.emittedAtNs)}] #${m.seq} ${role} (${shortEnum(messageTypeToJSON(m.messageType), 'MESSAGE_TYPE_')}):`];
  if (m.content !== '') lines.push(indent(m.content, '    '));
  for (const c of m.toolCalls) lines.push(`    → tool call ${c.name} ${clip(c.input, 200)}`);
  if (m.toolResult) {
    const r = m.toolResult;
    lines.push(`    ← tool result${r.success ? '' : ' (failed)'}: ${clip(r.content, 200)}`);
  }
  for (const f of m.filesTouched) {
    lines.push(`    file ${f.path} (${shortEnum(fileChangeTypeToJSON(f.changeType), 'FILE_CHANGE_TYPE_')} +${f.linesAdded} -${f.linesDeleted})`);
  }
  if (m.tokens) lines.push(`    tokens: ${m.tokens.inputTokens} in, ${m.tokens.outputTokens} out`);
  return lines.join('\n');
}
