import type { IngestLimits } from '../../config/config';
import { Assistant, AuthorRole, MessageType, ThreadType } from '../../../generated/catsyphon/telemetry/v1/sessions';
import type { MapOutcome, RecordInput } from './dialect';
import { baseMessage, developerFrom, recordTimeNs, tokenUsage } from './record.common';

export const CODEX_PREFIX = 'codex.';

/** A Codex record: a `codex.*` event name, or a resource `service.name` starting with codex. */
export function isCodex(input: RecordInput): boolean {
  return (input.eventName ?? '').startsWith(CODEX_PREFIX) || (input.resource.text('service.name') ?? '').startsWith('codex');
}

/**
 * Codex's `[otel]` events as messages of one session per `conversation.id`.
 * Codex sends no sequence number, so the session assembler orders its
 * messages by time (docs/otlp.md, "Order and retries").
 */
export function mapCodex(input: RecordInput, limits: IngestLimits): MapOutcome {
  const a = input.attributes;
  const name = input.eventName ?? '';
  const event = name.startsWith(CODEX_PREFIX) ? name.slice(CODEX_PREFIX.length) : name;
  const sessionId = a.text('conversation.id');
  if (sessionId === undefined) {
    return { rejected: { path: input.path, reason: `no session id: Codex event ${JSON.stringify(event)} has no conversation.id attribute` } };
  }
  const callId = a.text('call_id') ?? '';
  const toolName = a.text('tool_name') ?? '';
  let message;
  switch (event) {
    case 'conversation_starts':
      message = baseMessage(input, limits, {
        authorRole: AuthorRole.AUTHOR_ROLE_SYSTEM,
        messageType: MessageType.MESSAGE_TYPE_CONTEXT,
        authorName: 'conversation_starts',
      });
      break;
    case 'user_prompt':
      message = baseMessage(input, limits, {
        authorRole: AuthorRole.AUTHOR_ROLE_HUMAN,
        messageType: MessageType.MESSAGE_TYPE_PROMPT,
        content: a.text('prompt') ?? '',
      });
      break;
    case 'tool_decision':
      message = baseMessage(input, limits, {
        authorRole: AuthorRole.AUTHOR_ROLE_ASSISTANT,
        messageType: MessageType.MESSAGE_TYPE_TOOL_CALL,
        toolCalls: [{ id: callId, name: toolName, input: a.text('arguments') ?? '' }],
        content: a.text('decision') ?? '',
      });
      break;
    case 'tool_result':
      message = baseMessage(input, limits, {
        authorRole: AuthorRole.AUTHOR_ROLE_TOOL,
        messageType: MessageType.MESSAGE_TYPE_TOOL_RESULT,
        authorName: toolName || undefined,
        toolResult: {
          toolCallId: callId,
          content: a.text('output') ?? '',
          success: a.bool('success') ?? false,
          durationMs: a.integer('duration_ms'),
        },
      });
      break;
    case 'api_request':
      message = baseMessage(input, limits, {
        authorRole: AuthorRole.AUTHOR_ROLE_SYSTEM,
        messageType: a.text('error.message') ? MessageType.MESSAGE_TYPE_ERROR : MessageType.MESSAGE_TYPE_CONTEXT,
        authorName: 'api_request',
        content: a.text('error.message') ?? '',
      });
      break;
    case 'sse_event':
      // response.completed carries the token counts of one model response.
      message = baseMessage(input, limits, {
        authorRole: AuthorRole.AUTHOR_ROLE_SYSTEM,
        messageType: a.text('error.message') ? MessageType.MESSAGE_TYPE_ERROR : MessageType.MESSAGE_TYPE_CONTEXT,
        authorName: a.text('event.kind') ?? 'sse_event',
        content: a.text('error.message') ?? '',
        tokens: tokenUsage(a, { input: 'input_token_count', output: 'output_token_count', cacheRead: 'cached_token_count' }),
      });
      break;
    default:
      message = baseMessage(input, limits, {
        authorRole: AuthorRole.AUTHOR_ROLE_SYSTEM,
        messageType: MessageType.MESSAGE_TYPE_CONTEXT,
        authorName: event || undefined,
      });
  }
  const model = a.text('model');
  // Only conversation_starts names the provider (provider_name, kept in its metadata): one
  // provider for every record keeps the session's model stable across exports.
  const provider = 'openai';
  return {
    mapped: {
      dialect: 'codex',
      assistant: Assistant.ASSISTANT_CODEX,
      sessionId,
      threadId: 'main',
      threadType: ThreadType.THREAD_TYPE_MAIN,
      seq: undefined,
      orderNs: recordTimeNs(input),
      message,
      backingModel: model === undefined ? undefined : { provider, modelId: model, displayName: undefined },
      developer: developerFrom(input, ['user.account_id']),
    },
  };
}
