import type { IngestLimits } from '../../config/config';
import { Assistant, AuthorRole, MessageType, ThreadType } from '../../../generated/catsyphon/telemetry/v1/sessions';
import type { MapOutcome, RecordInput } from './dialect';
import { baseMessage, bodyText, developerFrom, recordTimeNs, tokenUsage } from './record.common';

export const CLAUDE_CODE_PREFIX = 'claude_code.';
const MAX_SEQ = 2147483647;

/** A Claude Code record: resource `service.name` = claude-code, or a `claude_code.*` event name. */
export function isClaudeCode(input: RecordInput): boolean {
  return input.resource.text('service.name') === 'claude-code' || (input.eventName ?? '').startsWith(CLAUDE_CODE_PREFIX);
}

/** The short event name (`user_prompt`), whether sent with or without the `claude_code.` prefix. */
export function claudeCodeEvent(input: RecordInput): string {
  const name = input.eventName ?? '';
  return name.startsWith(CLAUDE_CODE_PREFIX) ? name.slice(CLAUDE_CODE_PREFIX.length) : name;
}

/**
 * Claude Code's events (logs signal) as messages of one MAIN thread per
 * `session.id`. docs/otlp.md has the table; every attribute is kept in the
 * message's metadata and the whole record in raw_data.
 */
export function mapClaudeCode(input: RecordInput, limits: IngestLimits): MapOutcome {
  const a = input.attributes;
  const sessionId = a.text('session.id');
  const event = claudeCodeEvent(input);
  if (sessionId === undefined) {
    return { rejected: { path: input.path, reason: `no session id: Claude Code event ${JSON.stringify(event)} has no session.id attribute` } };
  }
  const sequence = a.integer('event.sequence');
  if (sequence !== undefined && (sequence < 0n || sequence >= BigInt(MAX_SEQ))) {
    return { rejected: { path: input.path, reason: `event.sequence ${sequence} is outside 0..${MAX_SEQ - 1}` } };
  }
  const toolUseId = a.text('tool_use_id') ?? '';
  const toolName = a.text('tool_name') ?? '';
  const parameters = a.text('tool_parameters') ?? a.text('parameters') ?? '';
  let message;
  switch (event) {
    case 'user_prompt':
      // `prompt` only when the user set OTEL_LOG_USER_PROMPTS=1; prompt_length stays in metadata.
      message = baseMessage(input, limits, {
        authorRole: AuthorRole.AUTHOR_ROLE_HUMAN,
        messageType: MessageType.MESSAGE_TYPE_PROMPT,
        content: a.text('prompt') ?? '',
      });
      break;
    case 'assistant_response':
      message = baseMessage(input, limits, {
        authorRole: AuthorRole.AUTHOR_ROLE_ASSISTANT,
        messageType: MessageType.MESSAGE_TYPE_RESPONSE,
        content: a.text('response') ?? a.text('content') ?? a.text('text') ?? '',
        authorName: a.text('model'),
        tokens: claudeTokens(input),
      });
      break;
    case 'tool_decision':
      message = baseMessage(input, limits, {
        authorRole: AuthorRole.AUTHOR_ROLE_ASSISTANT,
        messageType: MessageType.MESSAGE_TYPE_TOOL_CALL,
        toolCalls: [{ id: toolUseId, name: toolName, input: parameters }],
        content: a.text('decision') ?? '',
      });
      break;
    case 'tool_result': {
      const duration = a.integer('duration_ms');
      message = baseMessage(input, limits, {
        authorRole: AuthorRole.AUTHOR_ROLE_TOOL,
        messageType: MessageType.MESSAGE_TYPE_TOOL_RESULT,
        authorName: toolName || undefined,
        content: a.text('error') ?? '',
        toolResult: {
          toolCallId: toolUseId,
          content: a.text('tool_result') ?? a.text('output') ?? a.text('error') ?? '',
          success: a.bool('success') ?? false,
          durationMs: duration,
        },
      });
      break;
    }
    case 'api_request':
      // Token usage and cost of one model call, on the session's model (cost_usd stays in metadata).
      message = baseMessage(input, limits, {
        authorRole: AuthorRole.AUTHOR_ROLE_SYSTEM,
        messageType: MessageType.MESSAGE_TYPE_CONTEXT,
        authorName: a.text('model'),
        tokens: claudeTokens(input),
      });
      break;
    case 'api_error':
      message = baseMessage(input, limits, {
        authorRole: AuthorRole.AUTHOR_ROLE_SYSTEM,
        messageType: MessageType.MESSAGE_TYPE_ERROR,
        authorName: a.text('model'),
        content: a.text('error') ?? bodyText(input),
      });
      break;
    default:
      // An event this mapping does not know yet is still kept, as context.
      message = baseMessage(input, limits, {
        authorRole: AuthorRole.AUTHOR_ROLE_SYSTEM,
        messageType: MessageType.MESSAGE_TYPE_CONTEXT,
        authorName: event || undefined,
      });
  }
  const model = a.text('model');
  return {
    mapped: {
      dialect: 'claude_code',
      assistant: Assistant.ASSISTANT_CLAUDE_CODE,
      sessionId,
      threadId: 'main',
      threadType: ThreadType.THREAD_TYPE_MAIN,
      // event.sequence counts from 0 in some versions and seq from 1: seq = event.sequence + 1.
      seq: sequence === undefined ? undefined : Number(sequence) + 1,
      seqSource: sequence === undefined ? undefined : `event.sequence ${sequence}`,
      orderNs: recordTimeNs(input),
      message,
      backingModel: model === undefined ? undefined : { provider: 'anthropic', modelId: model, displayName: undefined },
      developer: developerFrom(input, ['user.account_uuid', 'user.id']),
    },
  };
}

function claudeTokens(input: RecordInput) {
  return tokenUsage(input.attributes, {
    input: 'input_tokens',
    output: 'output_tokens',
    cacheRead: 'cache_read_tokens',
    cacheCreation: 'cache_creation_tokens',
  });
}
