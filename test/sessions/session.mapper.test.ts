import {
  backingModelRow,
  developerFingerprint,
  fileRows,
  joinText,
  messageRow,
  metadataFrom,
  planRow,
  projectFingerprint,
  sameMetadata,
  sessionFields,
  splitText,
  threadRow,
  toolCallsFrom,
  toolResultFrom,
} from '../../src/sessions/session.mapper';
import { makeSession } from '../helpers/session-factory';

// Pure unit tests: no database, no server.
describe('session row mapper', () => {
  test('text holding NUL goes to the bytea half of the pair and comes back unchanged', () => {
    expect(splitText('plain')).toEqual({ text: 'plain', bin: null });
    const split = splitText('a\u0000b€');
    expect(split.text).toBeNull();
    expect(joinText(split.text, split.bin)).toBe('a\u0000b€');
    expect(joinText(null, null)).toBeUndefined();
  });

  test('a message row keeps int64 exactly and its tool calls and result as json text', () => {
    const m = makeSession('s1', 1).threads[0].messages[0];
    m.emittedAtNs = 1732233600123456789n;
    m.content = 'with\u0000nul';
    m.tokens = { inputTokens: 1, outputTokens: 2, cacheCreationTokens: 3, cacheReadTokens: 4 };
    m.toolCalls = [{ id: 't1', name: 'Read', input: '{"path":"/x"}' }];
    m.toolResult = { toolCallId: 't1', content: 'ok', success: true, durationMs: 9007199254740993n };
    const row = messageRow('session-uuid', '42', m);
    expect(row).toMatchObject({
      thread_id: '42',
      session_id: 'session-uuid',
      seq: 1,
      content: null,
      emitted_at_ns: '1732233600123456789',
      input_tokens: 1,
      cache_read_tokens: 4,
    });
    expect(joinText(row.content, row.content_bin)).toBe('with\u0000nul');
    expect(toolCallsFrom(JSON.parse(row.tool_calls))).toEqual(m.toolCalls);
    expect(toolResultFrom(row.tool_result)).toEqual(m.toolResult);
    expect(toolResultFrom(null)).toBeUndefined();
  });

  test('a message without tokens stores nulls', () => {
    const row = messageRow('s', '1', makeSession('s1', 1).threads[0].messages[0]);
    expect([row.input_tokens, row.output_tokens, row.cache_creation_tokens, row.cache_read_tokens]).toEqual([null, null, null, null]);
  });

  test('session fields: int8 as text, git context flattened, metadata as json', () => {
    const s = makeSession('s1');
    expect(sessionFields(s)).toMatchObject({ has_git_context: false, git_branch: null, git_is_clean: null, metadata: '{}' });
    s.gitContext = { branch: 'main', isClean: false };
    s.metadata = { k: 'v' };
    const fields = sessionFields(s);
    expect(fields).toMatchObject({ has_git_context: true, git_branch: 'main', git_commit_sha: null, git_is_clean: false });
    expect(fields.started_at_ns).toBe(s.startedAtNs.toString());
    expect(JSON.parse(fields.metadata)).toEqual({ k: 'v' });
  });

  test('thread, file and plan rows', () => {
    const s = makeSession('s1', 1);
    const t = { ...s.threads[0], parentThreadId: 'p', endedAtNs: 5n };
    expect(threadRow('sid', t)).toMatchObject({ session_id: 'sid', source_thread_id: 'main', parent_thread_id: 'p', ended_at_ns: '5' });
    const m = { ...t.messages[0], filesTouched: [{ path: '/a', changeType: 1, linesAdded: 2, linesDeleted: 0, timestampNs: 7n }, { path: '/b', changeType: 2, linesAdded: 0, linesDeleted: 1, timestampNs: 8n }] };
    expect(fileRows('sid', '9', m).map((f) => [f.ordinal, f.path, f.timestamp_ns])).toEqual([
      [0, '/a', '7'],
      [1, '/b', '8'],
    ]);
    expect(planRow('sid', { id: 'p1', path: '/plan.md', status: 1, createdAtNs: 1n })).toMatchObject({
      plan_id: 'p1',
      content: null,
      content_bin: null,
      updated_at_ns: null,
    });
    expect(backingModelRow({ provider: 'anthropic', modelId: 'm' })).toEqual({ provider: 'anthropic', model_id: 'm', display_name: null });
  });

  test('fingerprints ignore the order of metadata entries but not their values', () => {
    const p = (metadata: Record<string, string>) => projectFingerprint({ path: '/p', name: 'p', metadata });
    expect(p({ a: '1', b: '2' }).equals(p({ b: '2', a: '1' }))).toBe(true);
    expect(p({ a: '1' }).equals(p({ a: '2' }))).toBe(false);
    const d = (email?: string) => developerFingerprint({ username: 'u', email, metadata: {} });
    expect(d().equals(d('u@example.com'))).toBe(false);
  });

  test('metadata reads back from json text or a parsed value; comparison ignores order', () => {
    expect(metadataFrom('{"b":"2","a":"1"}')).toEqual({ a: '1', b: '2' });
    expect(metadataFrom({ a: '1' })).toEqual({ a: '1' });
    expect(sameMetadata({ a: '1', b: '2' }, { b: '2', a: '1' })).toBe(true);
    expect(sameMetadata({ a: '1' }, { a: '1', b: '2' })).toBe(false);
  });
});
