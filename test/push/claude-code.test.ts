import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTranscript } from '../../src/push/claude-code/jsonl.reader';
import { buildSessions } from '../../src/push/claude-code/session.builder';
import {
  AuthorRole,
  FileChangeType,
  MessageType,
  PlanStatus,
  Session,
  ThreadType,
} from '../../generated/catsyphon/telemetry/v1/sessions';

const DIR = join(__dirname, '..', 'fixtures', 'claude-code');
const file = (name: string) => readTranscript(join(DIR, name), readFileSync(join(DIR, name)));
const fileLines = (name: string) => readFileSync(join(DIR, name)).toString('utf8').split('\n').filter(Boolean);
const ns = (iso: string) => BigInt(Date.parse(iso)) * 1_000_000n;

function only(...names: string[]): Session {
  const { sessions } = buildSessions(names.map(file));
  expect(sessions).toHaveLength(1);
  return sessions[0];
}

describe('Claude Code transcripts -> sessions', () => {
  test('tool calls and tool results, with model, project, git branch and tokens', () => {
    const s = only('with-tool-calls.jsonl');
    expect(s.id).toBe('test-session-002');
    expect(s.backingModel).toEqual({ provider: 'anthropic', modelId: 'claude-sonnet-4-20250514' });
    expect(s.project).toEqual({ path: '/Users/test/project', name: 'project', metadata: {} });
    expect(s.gitContext).toEqual({ branch: 'feature' });
    expect(s.startedAtNs).toBe(ns('2025-12-06T11:00:00.000Z'));
    expect(s.lastActivityAtNs).toBe(ns('2025-12-06T11:00:45.000Z'));
    expect(s.threads).toHaveLength(1);
    const [main] = s.threads;
    expect(main).toMatchObject({ id: 'main', type: ThreadType.THREAD_TYPE_MAIN });
    expect(main.messages.map((m) => [m.seq, m.authorRole, m.messageType])).toEqual([
      [1, AuthorRole.AUTHOR_ROLE_HUMAN, MessageType.MESSAGE_TYPE_PROMPT],
      [2, AuthorRole.AUTHOR_ROLE_ASSISTANT, MessageType.MESSAGE_TYPE_TOOL_CALL],
      [3, AuthorRole.AUTHOR_ROLE_TOOL, MessageType.MESSAGE_TYPE_TOOL_RESULT],
      [4, AuthorRole.AUTHOR_ROLE_ASSISTANT, MessageType.MESSAGE_TYPE_RESPONSE],
      [5, AuthorRole.AUTHOR_ROLE_HUMAN, MessageType.MESSAGE_TYPE_PROMPT],
      [6, AuthorRole.AUTHOR_ROLE_ASSISTANT, MessageType.MESSAGE_TYPE_TOOL_CALL],
      [7, AuthorRole.AUTHOR_ROLE_TOOL, MessageType.MESSAGE_TYPE_TOOL_RESULT],
      [8, AuthorRole.AUTHOR_ROLE_ASSISTANT, MessageType.MESSAGE_TYPE_RESPONSE],
    ]);
    const call = main.messages[1];
    expect(call.content).toBe("I'll read the main.rs file for you.");
    expect(call.toolCalls).toEqual([{ id: 'toolu_01XYZ', name: 'Read', input: '{"file_path":"/Users/test/project/src/main.rs"}' }]);
    expect(call.tokens).toEqual({ inputTokens: 100, outputTokens: 50, cacheCreationTokens: 0, cacheReadTokens: 0 });
    expect(call.filesTouched).toEqual([
      { path: '/Users/test/project/src/main.rs', changeType: FileChangeType.FILE_CHANGE_TYPE_READ, linesAdded: 0, linesDeleted: 0, timestampNs: ns('2025-12-06T11:00:05.000Z') },
    ]);
    expect(call.metadata).toEqual({ uuid: 'msg-002', parent_uuid: 'msg-001', request_id: 'req-001', message_id: 'msg_01ABC', model: 'claude-sonnet-4-20250514' });
    const result = main.messages[2];
    expect(result.toolResult).toEqual({ toolCallId: 'toolu_01XYZ', content: 'fn main() {\n    println!("Hello, world!");\n}', success: true });
    expect(result.authorName).toBe('Read');
    expect(main.messages[6].toolResult).toMatchObject({ toolCallId: 'toolu_01ABC', success: true });
    expect(main.messages[5].toolCalls).toEqual([{ id: 'toolu_01ABC', name: 'Bash', input: '{"command":"cargo test"}' }]);
    // raw_data is the line exactly as on disk; emitted_at_ns is the entry's timestamp.
    const lines = fileLines('with-tool-calls.jsonl');
    main.messages.forEach((m, i) => expect(m.rawData.toString('utf8')).toBe(lines[i]));
    expect(main.messages.map((m) => m.emittedAtNs)).toEqual(lines.map((l) => ns(JSON.parse(l).timestamp)));
  });

  test('a sidechain agent file becomes an AGENT thread of its parent session', () => {
    const s = only('with-agent-spawn.jsonl', 'agent-a1234567.jsonl');
    expect(s.id).toBe('test-session-003');
    expect(s.threads.map((t) => t.id)).toEqual(['main', 'agent-a1234567']);
    const agent = s.threads[1];
    expect(agent).toMatchObject({
      type: ThreadType.THREAD_TYPE_AGENT,
      parentThreadId: 'main',
      spawnedByMessageId: 'msg-002',
      metadata: { agent_id: 'a1234567', slug: 'explore-codebase' },
      startedAtNs: ns('2025-12-06T12:00:10.000Z'),
      lastActivityAtNs: ns('2025-12-06T12:00:25.000Z'),
    });
    expect(agent.messages.map((m) => [m.seq, m.authorRole, m.messageType])).toEqual([
      [1, AuthorRole.AUTHOR_ROLE_CALLER, MessageType.MESSAGE_TYPE_PROMPT],
      [2, AuthorRole.AUTHOR_ROLE_AGENT, MessageType.MESSAGE_TYPE_TOOL_CALL],
      [3, AuthorRole.AUTHOR_ROLE_TOOL, MessageType.MESSAGE_TYPE_TOOL_RESULT],
      [4, AuthorRole.AUTHOR_ROLE_AGENT, MessageType.MESSAGE_TYPE_RESPONSE],
    ]);
    expect(agent.messages[2].toolResult).toEqual({ toolCallId: 'toolu_agent_01', content: 'src/main.rs\nsrc/lib.rs\ntests/integration.rs', success: true });
    // The order files are given in does not matter.
    expect(Session.encode(only('agent-a1234567.jsonl', 'with-agent-spawn.jsonl')).finish()).toEqual(Session.encode(s).finish());
  });

  test('an agent file alone still parses; without its main thread it names no parent', () => {
    const s = only('agent-a1234567.jsonl');
    expect(s.threads).toHaveLength(1);
    expect(s.threads[0].id).toBe('agent-a1234567');
    expect(s.threads[0].parentThreadId).toBeUndefined();
  });

  test('summaries, compact summaries, meta and system lines; snapshots skipped; parallel tool results split', () => {
    const { sessions, warnings } = buildSessions([file('with-summaries.jsonl')]);
    expect(warnings).toEqual([]);
    const [main] = sessions[0].threads;
    const kinds = main.messages.map((m) => [m.seq, AuthorRole[m.authorRole], MessageType[m.messageType]]);
    expect(kinds).toEqual([
      [1, 'AUTHOR_ROLE_SYSTEM', 'MESSAGE_TYPE_SUMMARY'],
      [2, 'AUTHOR_ROLE_SYSTEM', 'MESSAGE_TYPE_SUMMARY'],
      [3, 'AUTHOR_ROLE_SYSTEM', 'MESSAGE_TYPE_CONTEXT'],
      [4, 'AUTHOR_ROLE_HUMAN', 'MESSAGE_TYPE_PROMPT'],
      [5, 'AUTHOR_ROLE_ASSISTANT', 'MESSAGE_TYPE_TOOL_CALL'],
      [6, 'AUTHOR_ROLE_TOOL', 'MESSAGE_TYPE_TOOL_RESULT'],
      [7, 'AUTHOR_ROLE_TOOL', 'MESSAGE_TYPE_TOOL_RESULT'],
      [8, 'AUTHOR_ROLE_SYSTEM', 'MESSAGE_TYPE_CONTEXT'],
      [9, 'AUTHOR_ROLE_SYSTEM', 'MESSAGE_TYPE_SUMMARY'],
      [10, 'AUTHOR_ROLE_ASSISTANT', 'MESSAGE_TYPE_TOOL_CALL'],
      [11, 'AUTHOR_ROLE_TOOL', 'MESSAGE_TYPE_TOOL_RESULT'],
      [12, 'AUTHOR_ROLE_ASSISTANT', 'MESSAGE_TYPE_RESPONSE'],
    ]);
    const [sum1, sum2] = main.messages;
    expect(sum1.content).toBe('Fix rounding in invoice totals');
    expect(sum1.metadata).toEqual({ leaf_uuid: '0d9c2a11-aaaa-4bbb-8ccc-000000000001' });
    expect(sum2.content).toBe('Add regression test for half-even rounding');
    // Summary lines carry no timestamp: they take the first one of the file.
    expect(sum1.emittedAtNs).toBe(ns('2025-12-07T09:15:02.123Z'));
    expect(main.messages[4].toolCalls.map((c) => c.id)).toEqual(['toolu_r1', 'toolu_r2']);
    expect(main.messages[4].content).toBe('Let me read both files.');
    expect(main.messages[4].filesTouched.map((f) => f.path)).toEqual(['/home/dev/src/ledger/src/money.ts', '/home/dev/src/ledger/src/invoice.ts']);
    expect(main.messages[5].toolResult).toMatchObject({ toolCallId: 'toolu_r1', success: true });
    expect(main.messages[6].toolResult).toEqual({ toolCallId: 'toolu_r2', content: 'File does not exist.', success: false });
    expect(main.messages[5].rawData).toEqual(main.messages[6].rawData);
    expect(main.messages[7].content).toBe('Conversation compacted');
    expect(main.messages[8].content).toMatch(/^This session is being continued/);
    expect(main.messages[9].filesTouched).toEqual([
      expect.objectContaining({ path: '/home/dev/src/ledger/src/money.ts', changeType: FileChangeType.FILE_CHANGE_TYPE_MODIFIED }),
    ]);
    expect(main.messages[10].toolResult?.content).toBe('The file /home/dev/src/ledger/src/money.ts has been updated.');
    // Sub-millisecond precision of the timestamp survives.
    expect(main.messages[3].emittedAtNs).toBe(1_765_098_904_500_000_000n);
  });

  test('malformed lines are skipped with a warning naming the line, never a crash', () => {
    const { sessions, warnings } = buildSessions([file('malformed-lines.jsonl')]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^malformed-lines\.jsonl:2: skipped malformed line/);
    expect(warnings[1]).toMatch(/^malformed-lines\.jsonl:4: skipped malformed line/);
    const messages = sessions[0].threads[0].messages;
    expect(messages.map((m) => m.content)).toEqual([
      'First valid message',
      'Response after malformed line',
      'Another valid message after bad JSON',
      'Final valid response',
    ]);
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
  });

  test('lines that are JSON but not objects, blank lines and a half-written last line are skipped too', () => {
    const good = fileLines('minimal-session.jsonl');
    const data = Buffer.from(`${good[0]}\n\n[1,2]\n"text"\n${good[1]}\n${good[2].slice(0, 40)}`);
    const t = readTranscript('/tmp/partial.jsonl', data);
    expect(t.warnings).toEqual([
      expect.stringMatching(/^partial\.jsonl:3: skipped malformed line \(not a JSON object\)/),
      expect.stringMatching(/^partial\.jsonl:4: skipped malformed line \(not a JSON object\)/),
      expect.stringMatching(/^partial\.jsonl:6: skipped incomplete last line/),
    ]);
    expect(t.lines.map((l) => l.index)).toEqual([0, 4]);
    expect(t.completeLines).toBe(5);
  });

  test('non-ASCII text, emoji and NUL survive byte for byte, and the session encodes and decodes unchanged', () => {
    const s = only('non-ascii.jsonl');
    const lines = fileLines('non-ascii.jsonl');
    const [main] = s.threads;
    expect(main.messages[0].content).toBe(JSON.parse(lines[0]).message.content);
    expect(main.messages[0].content).toContain('\u0000');
    expect(main.messages[0].content).toContain('「ファイルが見つかりません」');
    expect(main.messages[3].content).toBe('Fertig. مرحبا — שלום — 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 👨‍👩‍👧‍👦');
    main.messages.forEach((m, i) => expect(m.rawData).toEqual(Buffer.from(lines[i], 'utf8')));
    expect(s.project?.name).toBe('übersetzer');
    expect(s.gitContext?.branch).toBe('feat/i18n-日本語');
    expect(main.messages[1].filesTouched[0].path).toBe('/home/dev/src/übersetzer/locales/de.json');
    expect(Session.decode(Session.encode(s).finish())).toEqual(s);
  });

  test('a long tool result is kept whole', () => {
    const s = only('long-tool-result.jsonl');
    const result = s.threads[0].messages[2];
    const line = fileLines('long-tool-result.jsonl')[2];
    expect(result.toolResult?.content).toBe(JSON.parse(line).message.content[0].content);
    expect(result.toolResult?.content.length).toBeGreaterThan(100_000);
    expect(result.toolResult?.content.split('\n')).toHaveLength(1501);
    expect(result.rawData.length).toBe(Buffer.byteLength(line));
    expect(s.threads[0].messages[3].tokens?.inputTokens).toBe(90_000);
  });

  test('parsing the same files twice gives identical sessions', () => {
    const names = ['with-tool-calls.jsonl', 'with-agent-spawn.jsonl', 'agent-a1234567.jsonl', 'with-summaries.jsonl', 'non-ascii.jsonl'];
    const encode = () => buildSessions(names.map(file)).sessions.map((x) => Buffer.from(Session.encode(x).finish()).toString('base64'));
    expect(encode()).toEqual(encode());
  });

  test('plan mode: each ExitPlanMode call is a plan, abandoned when rejected, updated when answered', () => {
    const s = only('with-plans.jsonl');
    expect(s.plans).toEqual([
      {
        id: 'toolu_plan1',
        path: '~/.claude/plans/lru-eviction-plan.md',
        title: 'Add TTL eviction',
        status: PlanStatus.PLAN_STATUS_ABANDONED,
        content: '# Add TTL eviction\n\n1. Store expiry per entry\n2. Sweep every minute',
        createdAtNs: ns('2025-12-12T08:00:20.000Z'),
        updatedAtNs: ns('2025-12-12T08:01:00.000Z'),
      },
      expect.objectContaining({
        id: 'toolu_plan2',
        title: 'Add LRU eviction with a size cap',
        status: PlanStatus.PLAN_STATUS_ACTIVE,
        createdAtNs: ns('2025-12-12T08:01:30.000Z'),
        updatedAtNs: ns('2025-12-12T08:02:00.000Z'),
      }),
    ]);
    expect(s.threads[0].messages.map((m) => MessageType[m.messageType])).toEqual([
      'MESSAGE_TYPE_PROMPT',
      'MESSAGE_TYPE_PLAN',
      'MESSAGE_TYPE_TOOL_RESULT',
      'MESSAGE_TYPE_PLAN',
      'MESSAGE_TYPE_TOOL_RESULT',
    ]);
    expect(s.threads[0].messages[2].toolResult?.success).toBe(false);
    // Before the answer arrives the plan is active and not yet updated.
    const proposed = buildSessions([readTranscript('/x/with-plans.jsonl', Buffer.from(`${fileLines('with-plans.jsonl').slice(0, 2).join('\n')}\n`))]);
    expect(proposed.sessions[0].plans).toEqual([expect.objectContaining({ id: 'toolu_plan1', status: PlanStatus.PLAN_STATUS_ACTIVE })]);
    expect(proposed.sessions[0].plans[0].updatedAtNs).toBeUndefined();
  });
});
