import { sessionsFromJson } from '../../src/push/json-sessions';
import { Assistant, AuthorRole, ExportSessionsRequest, Session } from '../../generated/catsyphon/telemetry/v1/sessions';
import { makeSession } from '../helpers/session-factory';

describe('proto3-JSON input (what grpcurl sends)', () => {
  const session = makeSession('json-1', 3);
  session.threads[0].messages[0].rawData = Buffer.from('{"raw":true}');
  session.metadata = { source: 'test' };

  test('one Session, an array of Sessions, or an ExportSessionsRequest', () => {
    const one = JSON.stringify(Session.toJSON(session));
    expect(sessionsFromJson(one)).toEqual([session]);
    expect(sessionsFromJson(`[${one},${one}]`)).toEqual([session, session]);
    const request = JSON.stringify(ExportSessionsRequest.toJSON({ batchId: 'ignored', sessions: [session] }));
    expect(sessionsFromJson(request)).toEqual([session]);
  });

  test('snake_case field names, enum numbers and int64 numbers are accepted too', () => {
    const [s] = sessionsFromJson(
      JSON.stringify({
        id: 'snake',
        assistant: 1,
        started_at_ns: '1764000000000000001',
        threads: [{ id: 'main', type: 'THREAD_TYPE_MAIN', messages: [{ seq: 1, author_role: 'AUTHOR_ROLE_HUMAN', message_type: 1, content: 'hi', emitted_at_ns: 5 }] }],
      }),
    );
    expect(s.assistant).toBe(Assistant.ASSISTANT_CLAUDE_CODE);
    expect(s.startedAtNs).toBe(1_764_000_000_000_000_001n);
    expect(s.threads[0].messages[0]).toMatchObject({ authorRole: AuthorRole.AUTHOR_ROLE_HUMAN, content: 'hi', emittedAtNs: 5n });
  });

  test('invalid JSON and non-object sessions are errors', () => {
    expect(() => sessionsFromJson('{')).toThrow();
    expect(() => sessionsFromJson('[1]')).toThrow(/sessions\[0\] is not a JSON object/);
  });
});
