import { basename } from 'node:path';
import {
  Assistant,
  type Message,
  type Session,
  type Thread,
  ThreadType,
} from '../../../generated/catsyphon/telemetry/v1/sessions';
import { type DraftMessage, entryMessages } from './entry.mapper';
import type { TranscriptFile, TranscriptLine } from './jsonl.reader';
import { plansOf } from './plans.mapper';
import { fillTimestamps, parseTimestampNs } from './timestamps';

type Json = Record<string, unknown>;

export const MAIN_THREAD_ID = 'main';

export interface BuildOptions {
  /**
   * When each line of a file was first read (see ObservationLedger). Without
   * it observed_at_ns equals emitted_at_ns, which is deterministic too.
   */
  readonly observedAt?: (file: TranscriptFile) => (lineIndex: number) => bigint;
}

export interface BuiltSessions {
  readonly sessions: Session[];
  readonly warnings: string[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const AGENT_FILE = /^agent-(.+)\.jsonl$/;

interface ThreadDraft {
  readonly id: string;
  readonly type: ThreadType;
  readonly agentId?: string;
  readonly messages: Message[];
  readonly metadata: Record<string, string>;
}

interface SessionDraft {
  readonly id: string;
  readonly threads: Map<string, ThreadDraft>;
  readonly seenUuids: Set<string>;
  readonly lines: Array<{ entry: Json; thread: string; emittedAtNs: bigint }>;
}

function sessionIdOf(file: TranscriptFile): string {
  for (const { entry } of file.lines) {
    const id = str(entry.sessionId);
    if (id) return id;
  }
  return basename(file.path).replace(/\.jsonl$/, '');
}

function threadOf(file: TranscriptFile, entry: Json): { id: string; agentId?: string } {
  const fileAgent = AGENT_FILE.exec(basename(file.path))?.[1];
  const agentId = fileAgent ?? (entry.isSidechain === true ? (str(entry.agentId) ?? 'sidechain') : undefined);
  return agentId ? { id: `agent-${agentId}`, agentId } : { id: MAIN_THREAD_ID };
}

/**
 * Turns transcript files into sessions: files are grouped by `sessionId`
 * (agent-*.jsonl files carry their parent's), the main conversation becomes
 * the MAIN thread and each sidechain agent an AGENT thread. Seqs follow line
 * order, so a grown transcript only appends seqs and a re-parse of the same
 * files gives the same sessions.
 */
export function buildSessions(files: readonly TranscriptFile[], options: BuildOptions = {}): BuiltSessions {
  const warnings = files.flatMap((f) => f.warnings);
  const drafts = new Map<string, SessionDraft>();
  const isAgentFile = (f: TranscriptFile) => AGENT_FILE.test(basename(f.path));
  const ordered = [...files].sort((a, b) => Number(isAgentFile(a)) - Number(isAgentFile(b)) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const file of ordered) {
    const id = sessionIdOf(file);
    let draft = drafts.get(id);
    if (!draft) drafts.set(id, (draft = { id, threads: new Map(), seenUuids: new Set(), lines: [] }));
    addFile(draft, file, options);
  }
  const sessions: Session[] = [];
  for (const draft of drafts.values()) {
    const session = finish(draft);
    if (session) sessions.push(session);
    else warnings.push(`session ${draft.id}: no messages, skipped`);
  }
  return { sessions, warnings };
}

function addFile(draft: SessionDraft, file: TranscriptFile, options: BuildOptions): void {
  const emitted = fillTimestamps(file.lines.map((l) => parseTimestampNs(l.entry.timestamp)));
  const observed = options.observedAt?.(file);
  file.lines.forEach((line: TranscriptLine, i) => {
    const uuid = str(line.entry.uuid);
    if (uuid && draft.seenUuids.has(uuid)) return; // the same entry in a main and an agent file
    if (uuid) draft.seenUuids.add(uuid);
    const where = threadOf(file, line.entry);
    let thread = draft.threads.get(where.id);
    if (!thread) {
      const type = where.agentId ? ThreadType.THREAD_TYPE_AGENT : ThreadType.THREAD_TYPE_MAIN;
      thread = { id: where.id, type, agentId: where.agentId, messages: [], metadata: where.agentId ? { agent_id: where.agentId } : {} };
      draft.threads.set(where.id, thread);
    }
    const slug = str(line.entry.slug);
    if (where.agentId && slug && !thread.metadata.slug) thread.metadata.slug = slug;
    draft.lines.push({ entry: line.entry, thread: where.id, emittedAtNs: emitted[i] });
    const messages = entryMessages(line.entry, {
      raw: line.raw,
      emittedAtNs: emitted[i],
      observedAtNs: observed?.(line.index) ?? emitted[i],
      agent: where.agentId !== undefined,
    });
    for (const m of messages) thread.messages.push({ seq: thread.messages.length + 1, ...m } as Message);
  });
}

/** Where each agent was spawned: the thread and uuid of the Task tool call. */
function spawnPoints(draft: SessionDraft): Map<string, { thread: string; messageUuid?: string }> {
  const toolUseOwner = new Map<string, string>();
  for (const { entry } of draft.lines) {
    const content = (entry.message as Json | undefined)?.content;
    if (entry.type !== 'assistant' || !Array.isArray(content)) continue;
    for (const b of content as Json[]) if (b?.type === 'tool_use' && str(b.id) && str(entry.uuid)) toolUseOwner.set(b.id as string, entry.uuid as string);
  }
  const spawns = new Map<string, { thread: string; messageUuid?: string }>();
  for (const { entry, thread } of draft.lines) {
    const agentId = str((entry.toolUseResult as Json | undefined)?.agentId);
    if (!agentId || spawns.has(agentId)) continue;
    const content = (entry.message as Json | undefined)?.content;
    const result = Array.isArray(content) ? (content as Json[]).find((b) => b?.type === 'tool_result') : undefined;
    const messageUuid = toolUseOwner.get(str(result?.tool_use_id) ?? '') ?? str(entry.parentUuid);
    spawns.set(agentId, { thread, messageUuid });
  }
  return spawns;
}

const first = (draft: SessionDraft, pick: (e: Json) => string | undefined) => {
  for (const { entry } of draft.lines) {
    const v = pick(entry);
    if (v) return v;
  }
  return undefined;
};

function span(messages: readonly { emittedAtNs: bigint }[]): [bigint, bigint] {
  let lo = messages[0]?.emittedAtNs ?? 0n;
  let hi = lo;
  for (const m of messages) {
    if (m.emittedAtNs < lo) lo = m.emittedAtNs;
    if (m.emittedAtNs > hi) hi = m.emittedAtNs;
  }
  return [lo, hi];
}

function finish(draft: SessionDraft): Session | undefined {
  const spawns = spawnPoints(draft);
  const threads: Thread[] = [...draft.threads.values()]
    .filter((t) => t.messages.length > 0)
    .map((t) => {
      const [startedAtNs, lastActivityAtNs] = span(t.messages);
      const spawn = t.agentId ? spawns.get(t.agentId) : undefined;
      const parent = spawn?.thread ?? (t.agentId && draft.threads.has(MAIN_THREAD_ID) ? MAIN_THREAD_ID : undefined);
      return {
        id: t.id,
        type: t.type,
        ...(parent && parent !== t.id ? { parentThreadId: parent } : {}),
        ...(spawn?.messageUuid ? { spawnedByMessageId: spawn.messageUuid } : {}),
        messages: t.messages,
        startedAtNs,
        lastActivityAtNs,
        metadata: t.metadata,
      };
    });
  if (threads.length === 0) return undefined;
  const [startedAtNs, lastActivityAtNs] = span(threads.flatMap((t) => t.messages));
  const model = first(draft, (e) => {
    const m = str((e.message as Json | undefined)?.model);
    return m && m !== '<synthetic>' ? m : undefined;
  });
  const cwd = first(draft, (e) => str(e.cwd));
  const branch = first(draft, (e) => str(e.gitBranch));
  const version = first(draft, (e) => str(e.version));
  return {
    id: draft.id,
    assistant: Assistant.ASSISTANT_CLAUDE_CODE,
    backingModel: model ? { provider: 'anthropic', modelId: model } : undefined,
    project: cwd ? { path: cwd, name: basename(cwd), metadata: {} } : undefined,
    startedAtNs,
    lastActivityAtNs,
    status: 0,
    threads,
    plans: plansOf(draft.lines),
    gitContext: branch ? { branch } : undefined,
    metadata: version ? { claude_code_version: version } : {},
  };
}
