import { hashSessions, SessionHasher } from '../../src/ingest/request-hash';
import type { Session } from '../../generated/catsyphon/telemetry/v1/sessions';
import { makeSession } from '../helpers/session-factory';

// Pure unit tests: no database, no server.

/** The same session with every map written in the given key order. */
function withMaps(order: string[]): Session {
  const map = () => Object.fromEntries(order.map((k) => [k, `value-${k}`]));
  const s = makeSession('s1', 2);
  s.metadata = map();
  s.project = { path: '/p', name: 'p', metadata: map() };
  s.developer = { username: 'dev', metadata: map() };
  s.threads[0].metadata = map();
  for (const m of s.threads[0].messages) m.metadata = map();
  return s;
}

describe('request hash', () => {
  test('does not depend on the order of map entries (Go and prost re-marshal maps in random order)', () => {
    const a = hashSessions([withMaps(['alpha', 'beta', 'gamma'])]);
    const b = hashSessions([withMaps(['gamma', 'alpha', 'beta'])]);
    expect(b.equals(a)).toBe(true);
  });

  test('changes when a map value changes', () => {
    const changed = withMaps(['alpha', 'beta']);
    changed.threads[0].messages[1].metadata.beta = 'other';
    expect(hashSessions([changed]).equals(hashSessions([withMaps(['alpha', 'beta'])]))).toBe(false);
  });

  test('a "__proto__" key is an ordinary entry', () => {
    const plain = makeSession('s1');
    const withProto = makeSession('s1');
    withProto.metadata = JSON.parse('{"z": "1", "__proto__": "x"}') as Session['metadata'];
    expect(hashSessions([withProto]).equals(hashSessions([plain]))).toBe(false);
  });

  test('is the same however the sessions are chunked (unary vs stream)', () => {
    const sessions = [makeSession('a'), makeSession('b'), makeSession('c')];
    const streamed = new SessionHasher();
    for (const s of sessions) streamed.add(s);
    expect(streamed.digest().equals(hashSessions(sessions))).toBe(true);
    // Length-prefixed: moving a session boundary changes the hash.
    expect(hashSessions([sessions[1], sessions[0], sessions[2]]).equals(hashSessions(sessions))).toBe(false);
  });

  test('leaves the input unchanged and returns the same digest when asked again', () => {
    const s = withMaps(['b', 'a']);
    const before = Object.keys(s.metadata);
    const hasher = new SessionHasher();
    hasher.add(s);
    expect(Object.keys(s.metadata)).toEqual(before);
    expect(hasher.digest()).toBe(hasher.digest());
  });
});
