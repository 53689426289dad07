import {
  AuthorRole,
  FileChangeType,
  type FileTouched,
  type Message,
  MessageType,
  type TokenUsage,
  type ToolCall,
} from '../../../generated/catsyphon/telemetry/v1/sessions';

type Json = Record<string, unknown>;

/** What the mapper needs besides the entry itself. */
export interface EntryContext {
  readonly raw: Buffer;
  readonly emittedAtNs: bigint;
  readonly observedAtNs: bigint;
  /** Entries of a sidechain agent: its prompt comes from the CALLER, its answers from the AGENT. */
  readonly agent: boolean;
}

/** A message before its seq is assigned. */
export type DraftMessage = Omit<Message, 'seq'>;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const int32 = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? Math.max(0, Math.min(2 ** 31 - 1, Math.trunc(v))) : 0);

/** Text of a content value: a string, or the text blocks of an array. */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((b) => obj(b))
    .filter((b): b is Json => b?.type === 'text' && typeof b.text === 'string')
    .map((b) => b.text as string)
    .join('\n\n');
}

function metadataOf(entry: Json, message: Json | undefined): Record<string, string> {
  const pairs: Array<[string, unknown]> = [
    ['uuid', entry.uuid],
    ['parent_uuid', entry.parentUuid],
    ['request_id', entry.requestId],
    ['message_id', message?.id],
    ['model', message?.model],
    ['subtype', entry.subtype],
    ['leaf_uuid', entry.leafUuid],
  ];
  return Object.fromEntries(pairs.filter((p): p is [string, string] => typeof p[1] === 'string' && p[1] !== ''));
}

function tokensOf(usage: unknown): TokenUsage | undefined {
  const u = obj(usage);
  if (!u) return undefined;
  return {
    inputTokens: int32(u.input_tokens),
    outputTokens: int32(u.output_tokens),
    cacheCreationTokens: int32(u.cache_creation_input_tokens),
    cacheReadTokens: int32(u.cache_read_input_tokens),
  };
}

const FILE_TOOLS: Record<string, FileChangeType> = {
  Read: FileChangeType.FILE_CHANGE_TYPE_READ,
  Write: FileChangeType.FILE_CHANGE_TYPE_MODIFIED,
  Edit: FileChangeType.FILE_CHANGE_TYPE_MODIFIED,
  MultiEdit: FileChangeType.FILE_CHANGE_TYPE_MODIFIED,
  NotebookEdit: FileChangeType.FILE_CHANGE_TYPE_MODIFIED,
};

function fileTouched(block: Json, timestampNs: bigint): FileTouched | undefined {
  const change = FILE_TOOLS[str(block.name) ?? ''];
  const input = obj(block.input);
  const path = str(input?.file_path) ?? str(input?.notebook_path);
  if (change === undefined || !path) return undefined;
  return { path, changeType: change, linesAdded: 0, linesDeleted: 0, timestampNs };
}

function draft(ctx: EntryContext, entry: Json, message: Json | undefined, fields: Partial<DraftMessage>): DraftMessage {
  return {
    authorRole: AuthorRole.AUTHOR_ROLE_UNSPECIFIED,
    messageType: MessageType.MESSAGE_TYPE_UNSPECIFIED,
    content: '',
    emittedAtNs: ctx.emittedAtNs,
    observedAtNs: ctx.observedAtNs,
    toolCalls: [],
    filesTouched: [],
    rawData: ctx.raw,
    metadata: metadataOf(entry, message),
    ...fields,
  };
}

function assistantMessages(entry: Json, ctx: EntryContext): DraftMessage[] {
  const message = obj(entry.message) ?? {};
  const blocks = Array.isArray(message.content) ? message.content.map(obj).filter((b): b is Json => !!b) : [];
  const toolUses = blocks.filter((b) => b.type === 'tool_use');
  const toolCalls: ToolCall[] = toolUses.map((b) => ({
    id: str(b.id) ?? '',
    name: str(b.name) ?? '',
    input: JSON.stringify(b.input ?? {}),
  }));
  const isError = entry.isApiErrorMessage === true;
  const planOnly = toolCalls.length > 0 && toolCalls.every((c) => c.name === 'ExitPlanMode');
  const type = isError
    ? MessageType.MESSAGE_TYPE_ERROR
    : planOnly
      ? MessageType.MESSAGE_TYPE_PLAN
      : toolCalls.length > 0
        ? MessageType.MESSAGE_TYPE_TOOL_CALL
        : MessageType.MESSAGE_TYPE_RESPONSE;
  return [
    draft(ctx, entry, message, {
      authorRole: ctx.agent ? AuthorRole.AUTHOR_ROLE_AGENT : AuthorRole.AUTHOR_ROLE_ASSISTANT,
      messageType: type,
      content: textOf(message.content),
      tokens: tokensOf(message.usage),
      toolCalls,
      filesTouched: toolUses.map((b) => fileTouched(b, ctx.emittedAtNs)).filter((f): f is FileTouched => !!f),
    }),
  ];
}

function promptFields(entry: Json, ctx: EntryContext): Partial<DraftMessage> {
  if (entry.isCompactSummary === true) {
    return { authorRole: AuthorRole.AUTHOR_ROLE_SYSTEM, messageType: MessageType.MESSAGE_TYPE_SUMMARY };
  }
  if (entry.isMeta === true) {
    return { authorRole: AuthorRole.AUTHOR_ROLE_SYSTEM, messageType: MessageType.MESSAGE_TYPE_CONTEXT };
  }
  return {
    authorRole: ctx.agent ? AuthorRole.AUTHOR_ROLE_CALLER : AuthorRole.AUTHOR_ROLE_HUMAN,
    messageType: MessageType.MESSAGE_TYPE_PROMPT,
  };
}

/** A user entry: a prompt, and/or one TOOL_RESULT message per tool_result block. */
function userMessages(entry: Json, ctx: EntryContext): DraftMessage[] {
  const message = obj(entry.message) ?? {};
  const content = message.content;
  if (!Array.isArray(content)) return [draft(ctx, entry, message, { ...promptFields(entry, ctx), content: textOf(content) })];
  const out: DraftMessage[] = [];
  let text: Json[] = [];
  const flushText = () => {
    if (text.length) out.push(draft(ctx, entry, message, { ...promptFields(entry, ctx), content: textOf(text) }));
    text = [];
  };
  const extra = obj(entry.toolUseResult);
  for (const block of content.map(obj)) {
    if (block?.type === 'text') text.push(block);
    if (block?.type !== 'tool_result') continue;
    flushText();
    const failed = block.is_error === true || extra?.success === false;
    out.push(
      draft(ctx, entry, message, {
        authorRole: AuthorRole.AUTHOR_ROLE_TOOL,
        authorName: str(extra?.name),
        messageType: MessageType.MESSAGE_TYPE_TOOL_RESULT,
        content: textOf(block.content),
        toolResult: { toolCallId: str(block.tool_use_id) ?? '', content: textOf(block.content), success: !failed },
      }),
    );
  }
  flushText();
  // An array with nothing we understand (an image only, say) is still kept, raw_data holds it.
  return out.length ? out : [draft(ctx, entry, message, { ...promptFields(entry, ctx), content: '' })];
}

/**
 * Maps one transcript entry to its messages (usually one). Entries that are
 * not conversation (file-history-snapshot, queue-operation, unknown types)
 * give none.
 */
export function entryMessages(entry: Json, ctx: EntryContext): DraftMessage[] {
  switch (entry.type) {
    case 'user':
      return userMessages(entry, ctx);
    case 'assistant':
      return assistantMessages(entry, ctx);
    case 'summary':
      return [
        draft(ctx, entry, undefined, {
          authorRole: AuthorRole.AUTHOR_ROLE_SYSTEM,
          messageType: MessageType.MESSAGE_TYPE_SUMMARY,
          content: str(entry.summary) ?? '',
        }),
      ];
    case 'system':
      return [
        draft(ctx, entry, undefined, {
          authorRole: AuthorRole.AUTHOR_ROLE_SYSTEM,
          messageType: entry.level === 'error' ? MessageType.MESSAGE_TYPE_ERROR : MessageType.MESSAGE_TYPE_CONTEXT,
          content: str(entry.content) ?? '',
        }),
      ];
    default:
      return [];
  }
}
