import {
  Assistant,
  AuthorRole,
  MessageType,
  type Session,
  ThreadType,
} from '../../generated/catsyphon/telemetry/v1/sessions';

const T0 = 1_764_000_000_000_000_000n;

/** A valid session with one main thread of `messages` messages of `contentBytes` characters each. */
export function makeSession(id: string, messages = 2, contentBytes = 20): Session {
  return {
    id,
    assistant: Assistant.ASSISTANT_CLAUDE_CODE,
    backingModel: { provider: 'anthropic', modelId: 'claude-test' },
    project: { path: '/work/demo', name: 'demo', metadata: {} },
    startedAtNs: T0,
    lastActivityAtNs: T0 + BigInt(messages) * 1_000_000_000n,
    status: 0,
    threads: [
      {
        id: 'main',
        type: ThreadType.THREAD_TYPE_MAIN,
        messages: Array.from({ length: messages }, (_, i) => ({
          seq: i + 1,
          authorRole: i % 2 === 0 ? AuthorRole.AUTHOR_ROLE_HUMAN : AuthorRole.AUTHOR_ROLE_ASSISTANT,
          messageType: i % 2 === 0 ? MessageType.MESSAGE_TYPE_PROMPT : MessageType.MESSAGE_TYPE_RESPONSE,
          content: 'x'.repeat(contentBytes),
          emittedAtNs: T0 + BigInt(i) * 1_000_000_000n,
          observedAtNs: T0 + BigInt(i) * 1_000_000_000n,
          toolCalls: [],
          filesTouched: [],
          rawData: Buffer.alloc(0),
          metadata: {},
        })),
        startedAtNs: T0,
        lastActivityAtNs: T0,
        metadata: {},
      },
    ],
    plans: [],
    metadata: {},
  };
}
