import type { Kysely } from 'kysely';
import type { DB, MessageRow, PlanRow, SessionRow, ThreadRow } from '../db/schema';
import type { Message, Plan, Session, Thread } from '../../generated/catsyphon/telemetry/v1/sessions';
import { loadDimensions } from '../sessions/dimension.repository';
import { listFiles, listMessages } from '../sessions/message.repository';
import { listPlans } from '../sessions/plan.repository';
import { listThreads } from '../sessions/thread.repository';
import { joinText, metadataFrom, toolCallsFrom, toolResultFrom } from '../sessions/session.mapper';

/**
 * Rebuilds the Session message exactly as it was exported, from its rows.
 * Threads come back in the order first received, messages by seq, plans in
 * the order first received.
 */
export async function readSession(db: Kysely<DB>, row: SessionRow): Promise<Session> {
  const [dims, threads, messages, files, plans] = await Promise.all([
    loadDimensions(db, {
      projectId: row.project_id === null ? null : BigInt(row.project_id),
      developerId: row.developer_id === null ? null : BigInt(row.developer_id),
      backingModelId: row.backing_model_id === null ? null : BigInt(row.backing_model_id),
    }),
    listThreads(db, row.id),
    listMessages(db, row.id),
    listFiles(db, row.id),
    listPlans(db, row.id),
  ]);
  const filesByMessage = new Map<string, Message['filesTouched']>();
  for (const f of files) {
    const key = `${f.thread_id}:${f.seq}`;
    let list = filesByMessage.get(key);
    if (!list) filesByMessage.set(key, (list = []));
    list.push({
      path: f.path,
      changeType: f.change_type,
      linesAdded: f.lines_added,
      linesDeleted: f.lines_deleted,
      timestampNs: BigInt(f.timestamp_ns),
    });
  }
  const messagesByThread = new Map<string, Message[]>();
  for (const m of messages) {
    const key = String(m.thread_id);
    let list = messagesByThread.get(key);
    if (!list) messagesByThread.set(key, (list = []));
    list.push(toMessage(m, filesByMessage.get(`${m.thread_id}:${m.seq}`) ?? []));
  }
  const g = row.has_git_context;
  return {
    id: row.source_session_id,
    assistant: row.assistant,
    backingModel: dims.backingModel && {
      provider: dims.backingModel.provider,
      modelId: dims.backingModel.model_id,
      displayName: row.backing_model_display_name ?? undefined,
    },
    project: dims.project && {
      path: dims.project.path,
      name: dims.project.name,
      metadata: metadataFrom(dims.project.metadata),
    },
    developer: dims.developer && {
      username: dims.developer.username,
      email: dims.developer.email ?? undefined,
      metadata: metadataFrom(dims.developer.metadata),
    },
    startedAtNs: BigInt(row.started_at_ns),
    lastActivityAtNs: BigInt(row.last_activity_at_ns),
    status: row.status,
    threads: threads.map((t) => toThread(t, messagesByThread.get(String(t.id)) ?? [])),
    plans: plans.map(toPlan),
    gitContext: g
      ? {
          branch: row.git_branch ?? undefined,
          commitSha: row.git_commit_sha ?? undefined,
          isClean: row.git_is_clean ?? undefined,
          remoteUrl: row.git_remote_url ?? undefined,
        }
      : undefined,
    metadata: metadataFrom(row.metadata),
  };
}

function toThread(t: ThreadRow, messages: Message[]): Thread {
  return {
    id: t.source_thread_id,
    parentThreadId: t.parent_thread_id ?? undefined,
    type: t.type,
    spawnedByMessageId: t.spawned_by_message_id ?? undefined,
    messages,
    startedAtNs: BigInt(t.started_at_ns),
    endedAtNs: t.ended_at_ns === null ? undefined : BigInt(t.ended_at_ns),
    lastActivityAtNs: BigInt(t.last_activity_at_ns),
    metadata: metadataFrom(t.metadata),
  };
}

function toMessage(m: MessageRow, filesTouched: Message['filesTouched']): Message {
  return {
    seq: m.seq,
    authorRole: m.author_role,
    authorName: m.author_name ?? undefined,
    messageType: m.message_type,
    content: joinText(m.content, m.content_bin) ?? '',
    emittedAtNs: BigInt(m.emitted_at_ns),
    observedAtNs: BigInt(m.observed_at_ns),
    tokens:
      m.input_tokens === null
        ? undefined
        : {
            inputTokens: m.input_tokens,
            outputTokens: m.output_tokens ?? 0,
            cacheCreationTokens: m.cache_creation_tokens ?? 0,
            cacheReadTokens: m.cache_read_tokens ?? 0,
          },
    toolCalls: toolCallsFrom(m.tool_calls),
    toolResult: toolResultFrom(m.tool_result),
    filesTouched,
    rawData: Buffer.from(m.raw_data.buffer, m.raw_data.byteOffset, m.raw_data.byteLength),
    metadata: metadataFrom(m.metadata),
  };
}

function toPlan(p: PlanRow): Plan {
  return {
    id: p.plan_id,
    path: p.path,
    title: p.title ?? undefined,
    status: p.status,
    content: joinText(p.content, p.content_bin),
    createdAtNs: BigInt(p.created_at_ns),
    updatedAtNs: p.updated_at_ns === null ? undefined : BigInt(p.updated_at_ns),
  };
}
