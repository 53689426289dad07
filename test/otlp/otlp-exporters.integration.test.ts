import {
  Assistant,
  AuthorRole,
  MessageType,
  type Session,
  ThreadType,
} from '../../generated/catsyphon/telemetry/v1/sessions';
import { exporterFor, loadFixture, type OtlpFixture, type OtlpTestApp, sendFixture, startOtlpApp, type Transport } from '../helpers/otlp';

/**
 * The official OpenTelemetry JS exporters (gRPC, HTTP protobuf, HTTP JSON)
 * send the recorded Claude Code and Codex streams to the running server;
 * GetSession reads back the expected sessions, threads and messages, with
 * every attribute kept.
 */
describe('OTLP logs from the OpenTelemetry JS exporters', () => {
  let t: OtlpTestApp;
  beforeAll(async () => {
    t = await startOtlpApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const withSession = (fixture: OtlpFixture, key: string, id: string): OtlpFixture => ({
    ...fixture,
    common: { ...fixture.common, [key]: id },
  });

  function expectEveryAttributeKept(session: Session, fixture: OtlpFixture) {
    const messages = session.threads.flatMap((th) => th.messages);
    expect(messages).toHaveLength(fixture.records.length);
    fixture.records.forEach((r, i) => {
      const m = messages[i];
      for (const [k, v] of Object.entries({ ...fixture.common, ...r.attributes })) {
        if (k === 'session.id' || k === 'conversation.id') continue;
        expect([k, m.metadata[k]]).toEqual([k, v]);
      }
      expect(m.metadata['event.timestamp']).toBe(r.timestamp);
      const raw = JSON.parse(m.rawData.toString('utf8'));
      expect(raw.attributes.map((a: { key: string }) => a.key)).toEqual(expect.arrayContaining(Object.keys(r.attributes)));
    });
    for (const [k, v] of Object.entries(fixture.resource)) expect([k, session.metadata[k]]).toEqual([k, v]);
  }

  test.each<Transport>(['grpc', 'http/protobuf', 'http/json'])('a Claude Code session over %s', async (transport) => {
    const id = `cc-${transport.replace('/', '-')}`;
    const fixture = withSession(loadFixture('claude-code-session.json'), 'session.id', id);
    await sendFixture(fixture, exporterFor(t, transport));

    const { session } = await t.client.getSession(id, Assistant.ASSISTANT_CLAUDE_CODE);
    expect(session).toBeDefined();
    const s = session as Session;
    expect(s.assistant).toBe(Assistant.ASSISTANT_CLAUDE_CODE);
    expect(s.backingModel).toMatchObject({ provider: 'anthropic', modelId: 'claude-sonnet-4-5' });
    expect(s.developer).toMatchObject({ username: 'ada@example.com', email: 'ada@example.com' });
    expect(s.developer?.metadata).toMatchObject({ 'user.account_uuid': 'a1c3e5f7-0000-4000-8000-000000000001', 'organization.id': 'org-7f3a' });
    expect(s.startedAtNs).toBe(BigInt(Date.parse('2026-11-20T09:00:00.000Z')) * 1_000_000n);
    expect(s.lastActivityAtNs).toBe(BigInt(Date.parse('2026-11-20T09:01:15.000Z')) * 1_000_000n);
    expect(s.threads.map((th) => [th.id, th.type])).toEqual([['main', ThreadType.THREAD_TYPE_MAIN]]);
    const m = s.threads[0].messages;
    expect(m.map((x) => [x.seq, x.authorRole, x.messageType])).toEqual([
      [1, AuthorRole.AUTHOR_ROLE_HUMAN, MessageType.MESSAGE_TYPE_PROMPT],
      [2, AuthorRole.AUTHOR_ROLE_SYSTEM, MessageType.MESSAGE_TYPE_CONTEXT],
      [3, AuthorRole.AUTHOR_ROLE_ASSISTANT, MessageType.MESSAGE_TYPE_TOOL_CALL],
      [4, AuthorRole.AUTHOR_ROLE_TOOL, MessageType.MESSAGE_TYPE_TOOL_RESULT],
      [5, AuthorRole.AUTHOR_ROLE_SYSTEM, MessageType.MESSAGE_TYPE_CONTEXT],
      [6, AuthorRole.AUTHOR_ROLE_ASSISTANT, MessageType.MESSAGE_TYPE_RESPONSE],
      [7, AuthorRole.AUTHOR_ROLE_HUMAN, MessageType.MESSAGE_TYPE_PROMPT],
      [8, AuthorRole.AUTHOR_ROLE_ASSISTANT, MessageType.MESSAGE_TYPE_TOOL_CALL],
      [9, AuthorRole.AUTHOR_ROLE_SYSTEM, MessageType.MESSAGE_TYPE_ERROR],
    ]);
    expect(m[0].content).toBe('Add a --dry-run flag to the deploy script');
    expect(m[6].content).toBe('');
    expect(m[6].metadata.prompt_length).toBe('17');
    expect(m[1].tokens).toEqual({ inputTokens: 1200, outputTokens: 310, cacheReadTokens: 800, cacheCreationTokens: 120 });
    expect(m[1].metadata.cost_usd).toBe('0.0123');
    expect(m[2].toolCalls).toEqual([{ id: 'toolu_01', name: 'Edit', input: '' }]);
    expect(m[3].toolResult).toEqual({ toolCallId: 'toolu_01', content: '', success: true, durationMs: 35n });
    expect(m[5].content).toBe('Added --dry-run: it prints the commands instead of running them.');
    expect(m[8].content).toBe('Overloaded');
    expect(m[0].emittedAtNs).toBe(BigInt(Date.parse('2026-11-20T09:00:00.000Z')) * 1_000_000n);
    expect(m[0].observedAtNs).toBe(BigInt(Date.parse('2026-11-20T09:00:00.000Z') + 5) * 1_000_000n);
    expectEveryAttributeKept(s, fixture);
  });

  test.each<Transport>(['grpc', 'http/protobuf', 'http/json'])('a Codex conversation over %s', async (transport) => {
    const id = `codex-${transport.replace('/', '-')}`;
    const fixture = withSession(loadFixture('codex-session.json'), 'conversation.id', id);
    await sendFixture(fixture, exporterFor(t, transport));

    const { session } = await t.client.getSession(id, Assistant.ASSISTANT_CODEX);
    const s = session as Session;
    expect(s.assistant).toBe(Assistant.ASSISTANT_CODEX);
    expect(s.backingModel).toMatchObject({ provider: 'openai', modelId: 'gpt-5-codex' });
    expect(s.developer).toMatchObject({ username: 'grace@example.com' });
    // No sequence numbers: one thread per UTC day, messages ordered by time.
    expect(s.threads.map((th) => th.id)).toEqual(['main@2026-11-21']);
    const m = s.threads[0].messages;
    expect(m.map((x) => [x.authorRole, x.messageType])).toEqual([
      [AuthorRole.AUTHOR_ROLE_SYSTEM, MessageType.MESSAGE_TYPE_CONTEXT],
      [AuthorRole.AUTHOR_ROLE_HUMAN, MessageType.MESSAGE_TYPE_PROMPT],
      [AuthorRole.AUTHOR_ROLE_SYSTEM, MessageType.MESSAGE_TYPE_CONTEXT],
      [AuthorRole.AUTHOR_ROLE_SYSTEM, MessageType.MESSAGE_TYPE_CONTEXT],
      [AuthorRole.AUTHOR_ROLE_ASSISTANT, MessageType.MESSAGE_TYPE_TOOL_CALL],
      [AuthorRole.AUTHOR_ROLE_TOOL, MessageType.MESSAGE_TYPE_TOOL_RESULT],
    ]);
    expect(m[1].content).toBe('Why does the CI job time out?');
    expect(m[3].tokens).toEqual({ inputTokens: 5400, outputTokens: 380, cacheReadTokens: 4096, cacheCreationTokens: 0 });
    expect(m[4].toolCalls).toEqual([{ id: 'call_9', name: 'shell', input: '' }]);
    expect(m[5].toolResult).toEqual({
      toolCallId: 'call_9',
      content: '.github/workflows/ci.yml: timeout-minutes: 5',
      success: true,
      durationMs: 1150n,
    });
    expectEveryAttributeKept(s, fixture);
  });
});
