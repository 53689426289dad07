import { loadConfig } from '../../src/config/config';
import { validateSession, type ValidationResult } from '../../src/ingest/session.validator';
import type { Session } from '../../generated/catsyphon/telemetry/v1/sessions';
import { makeSession } from '../helpers/session-factory';

// Pure unit tests: no database, no server.
const limits = loadConfig({}).ingest.limits;
const validate = (s: Session): ValidationResult => validateSession(s, 'sessions[4]', limits);

function issueOf(result: ValidationResult) {
  if (result.kind !== 'invalid') throw new Error('expected the session to be invalid');
  return result.issue;
}

describe('validateSession', () => {
  test('accepts a well-formed session and reports no unresolved parents', () => {
    expect(validate(makeSession('s1', 3))).toEqual({ kind: 'valid', unresolvedParents: [] });
  });

  test('returns a parent thread that is not in the request (stored, or arriving later)', () => {
    const s = makeSession('s1');
    s.threads.push({ ...s.threads[0], id: 'agent', parentThreadId: 'stored-earlier', messages: [] });
    expect(validate(s)).toEqual({
      kind: 'valid',
      unresolvedParents: [{ parentThreadId: 'stored-earlier', field: 'sessions[4].threads[1].parent_thread_id' }],
    });
  });

  test('a parent thread of the same request is resolved already', () => {
    const s = makeSession('s1');
    s.threads.push({ ...s.threads[0], id: 'agent', parentThreadId: 'main', messages: [] });
    expect(validate(s)).toEqual({ kind: 'valid', unresolvedParents: [] });
  });

  test('rejects a thread that names itself as its parent', () => {
    const s = makeSession('s1');
    s.threads[0].parentThreadId = s.threads[0].id;
    expect(issueOf(validate(s))).toEqual({
      field: 'sessions[4].threads[0].parent_thread_id',
      message: 'thread "main" names itself as its parent',
    });
  });

  test('rejects a cycle of parents within the request, at its first thread', () => {
    const s = makeSession('s1');
    s.threads.push({ ...s.threads[0], id: 'a', parentThreadId: 'b', messages: [] });
    s.threads.push({ ...s.threads[0], id: 'b', parentThreadId: 'c', messages: [] });
    s.threads.push({ ...s.threads[0], id: 'c', parentThreadId: 'a', messages: [] });
    expect(issueOf(validate(s))).toEqual({
      field: 'sessions[4].threads[1].parent_thread_id',
      message: 'parent_thread_id forms a cycle: "a" → "b" → "c" → "a"',
    });
  });

  test('a long chain of sub-agents is checked once per thread (a loop at its end is still found)', () => {
    const s = makeSession('s1');
    const base = { ...s.threads[0], messages: [] };
    s.threads = Array.from({ length: 20_000 }, (_, i) => ({ ...base, id: `t${i}`, parentThreadId: i === 0 ? undefined : `t${i - 1}` }));
    expect(validate(s).kind).toBe('valid');
    s.threads[0] = { ...s.threads[0], parentThreadId: 't19999' };
    expect(issueOf(validate(s)).field).toBe('sessions[4].threads[0].parent_thread_id');
  });

  test('a chain that ends at a parent outside the request is not a cycle', () => {
    const s = makeSession('s1');
    s.threads.push({ ...s.threads[0], id: 'a', parentThreadId: 'b', messages: [] });
    s.threads.push({ ...s.threads[0], id: 'b', parentThreadId: 'later', messages: [] });
    expect(validate(s)).toEqual({
      kind: 'valid',
      unresolvedParents: [{ parentThreadId: 'later', field: 'sessions[4].threads[2].parent_thread_id' }],
    });
  });

  test('names the field path of an empty session id', () => {
    expect(issueOf(validate(makeSession('')))).toEqual({ field: 'sessions[4].id', message: 'session id must not be empty' });
  });

  test('rejects a duplicate thread id at the second occurrence', () => {
    const s = makeSession('s1');
    s.threads.push({ ...s.threads[0] });
    expect(issueOf(validate(s)).field).toBe('sessions[4].threads[1].id');
  });

  test('rejects seq 0 and a repeated seq', () => {
    const zero = makeSession('s1', 2);
    zero.threads[0].messages[1].seq = 0;
    expect(issueOf(validate(zero))).toEqual({ field: 'sessions[4].threads[0].messages[1].seq', message: 'seq must be at least 1' });
    const twice = makeSession('s1', 2);
    twice.threads[0].messages[1].seq = 1;
    expect(issueOf(validate(twice)).message).toBe('seq 1 appears twice in thread "main"');
  });

  test('rejects NUL in a text column but keeps it legal in content', () => {
    const inPath = makeSession('s1');
    inPath.project = { path: '/a\u0000b', name: 'demo', metadata: {} };
    expect(issueOf(validate(inPath))).toEqual({
      field: 'sessions[4].project.path',
      message: 'sessions[4].project.path must not contain NUL characters',
    });
    const inContent = makeSession('s1');
    inContent.threads[0].messages[0].content = 'a\u0000b';
    expect(validate(inContent).kind).toBe('valid');
  });

  test('measures UTF-8 bytes against the content limit', () => {
    const s = makeSession('s1');
    // 3 bytes per character: over the limit in bytes though not in characters.
    s.threads[0].messages[0].content = '€'.repeat(Math.floor(limits.maxContentBytes / 3) + 1);
    const issue = issueOf(validate(s));
    expect(issue.field).toBe('sessions[4].threads[0].messages[0].content');
    expect(issue.message).toMatch(/bytes, more than the limit of/);
  });

  test('counts metadata entries', () => {
    const s = makeSession('s1');
    for (let i = 0; i <= limits.maxMetadataEntries; i++) s.metadata[`k${i}`] = 'v';
    expect(issueOf(validate(s)).field).toBe('sessions[4].metadata');
  });

  test('rejects an unset author role and message type', () => {
    const s = makeSession('s1');
    s.threads[0].messages[0].authorRole = 0;
    expect(issueOf(validate(s)).field).toBe('sessions[4].threads[0].messages[0].author_role');
  });

  test('rejects a timestamp outside int64', () => {
    const s = makeSession('s1');
    s.startedAtNs = 2n ** 63n;
    expect(issueOf(validate(s)).field).toBe('sessions[4].started_at_ns');
  });

  test('rejects duplicate plan ids', () => {
    const s = makeSession('s1');
    const plan = { id: 'p', path: '/plan.md', status: 0, createdAtNs: 1n };
    s.plans.push(plan, { ...plan });
    expect(issueOf(validate(s)).field).toBe('sessions[4].plans[1].id');
  });

  test('reports the first problem in field order and never throws', () => {
    const s = makeSession('s1');
    s.developer = { username: 'x\u0000', metadata: {} };
    s.threads[0].messages[0].seq = -1;
    expect(issueOf(validate(s)).field).toBe('sessions[4].developer.username');
  });
});
