import type { Message, Session } from '../../generated/catsyphon/telemetry/v1/sessions';

/*
 * The rows of the `messages` table for a session, pre-encoded once so the
 * baseline spends its time in PostgreSQL, not in JavaScript. Per batch only
 * thread_id and session_id change (they are keys). The columns are the
 * service's own COPY column order, so both sides write the same columns.
 */
export { MESSAGE_COLUMNS } from '../../src/sessions/message.copy';

export interface MessageRowTemplate {
  /** Index of the thread within its session (thread_id = base + index). */
  readonly threadIndex: number;
  readonly seq: number;
  readonly authorRole: number;
  readonly authorName: Buffer | null;
  readonly messageType: number;
  /** UTF-8 of the content (the text column; content_bin stays null for NUL-free text). */
  readonly content: Buffer;
  readonly emittedAtNs: bigint;
  readonly observedAtNs: bigint;
  readonly tokens: readonly [number, number, number, number] | null;
  readonly toolCalls: Buffer;
  readonly toolResult: Buffer | null;
  readonly rawData: Buffer;
  readonly metadata: Buffer;
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

function row(threadIndex: number, m: Message): MessageRowTemplate {
  return {
    threadIndex,
    seq: m.seq,
    authorRole: m.authorRole,
    authorName: m.authorName === undefined ? null : Buffer.from(m.authorName),
    messageType: m.messageType,
    content: Buffer.from(m.content),
    emittedAtNs: m.emittedAtNs,
    observedAtNs: m.observedAtNs,
    tokens: m.tokens
      ? [m.tokens.inputTokens, m.tokens.outputTokens, m.tokens.cacheCreationTokens, m.tokens.cacheReadTokens]
      : null,
    toolCalls: json(m.toolCalls.map((c) => ({ id: c.id, name: c.name, input: c.input }))),
    toolResult: m.toolResult
      ? json({
          tool_call_id: m.toolResult.toolCallId,
          content: m.toolResult.content,
          success: m.toolResult.success,
          ...(m.toolResult.durationMs === undefined ? {} : { duration_ms: String(m.toolResult.durationMs) }),
        })
      : null,
    rawData: m.rawData,
    metadata: json(m.metadata),
  };
}

export function sessionRows(session: Session): MessageRowTemplate[] {
  return session.threads.flatMap((t, i) => t.messages.map((m) => row(i, m)));
}

/** A template session's rows placed in one batch: its thread ids start at threadBase. */
export interface PlacedSession {
  readonly rows: readonly MessageRowTemplate[];
  readonly threadBase: bigint;
  /** 16 raw bytes of the session uuid. */
  readonly sessionId: Buffer;
}

export function uuidText(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
