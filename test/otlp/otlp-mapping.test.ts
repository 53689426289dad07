import type { IngestLimits } from '../../src/config/config';
import { mapRecord, NO_SESSION_ID, recordsOf } from '../../src/otlp/dialects/record.mapper';
import { isoToNs } from '../../src/otlp/log-record.attributes';
import { describeRejections } from '../../src/otlp/logs-export.service';
import { decodeRequest } from '../../src/otlp/otlp-http.codec';
import { assembleSessions } from '../../src/otlp/session.assembler';
import { Assistant, AuthorRole, MessageType } from '../../generated/catsyphon/telemetry/v1/sessions';
import { ExportLogsServiceRequest } from '../../generated/opentelemetry/proto/collector/logs/v1/logs_service';

const LIMITS: IngestLimits = {
  maxStringBytes: 4096,
  maxContentBytes: 8 << 20,
  maxRawDataBytes: 8 << 20,
  maxMetadataEntries: 256,
  maxMetadataValueBytes: 65536,
};

type Attr = string | number | boolean;
const kv = (key: string, v: Attr) => ({
  key,
  value: typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v },
});

function request(records: Array<{ attributes: Record<string, Attr>; body?: string; eventName?: string; time?: string }>, resource: Record<string, Attr> = {}) {
  return ExportLogsServiceRequest.fromJSON({
    resourceLogs: [
      {
        resource: { attributes: Object.entries(resource).map(([k, v]) => kv(k, v)) },
        scopeLogs: [
          {
            logRecords: records.map((r) => ({
              timeUnixNano: r.time ?? '1764000000000000000',
              eventName: r.eventName,
              body: r.body === undefined ? undefined : { stringValue: r.body },
              attributes: Object.entries(r.attributes).map(([k, v]) => kv(k, v)),
            })),
          },
        ],
      },
    ],
  });
}

const mapAll = (req: ExportLogsServiceRequest) => [...recordsOf(req)].map((input) => ({ input, outcome: mapRecord(input, LIMITS) }));

describe('OTLP record mapping (pure, no database)', () => {
  test('dialects are detected per record; a record of none names what was missing', () => {
    const out = mapAll(
      request([
        { attributes: { 'catsyphon.session.id': 's', 'catsyphon.author.role': 'human', 'catsyphon.message.type': 'MESSAGE_TYPE_PROMPT' }, body: 'hi' },
        { attributes: { 'session.id': 'c', 'event.name': 'user_prompt' }, body: 'claude_code.user_prompt' },
        { attributes: { 'conversation.id': 'x', 'event.name': 'codex.user_prompt' } },
        { attributes: { foo: 'bar' } },
      ]),
    );
    const dialects = out.map((o) => ('mapped' in o.outcome ? o.outcome.mapped.dialect : o.outcome.rejected.reason));
    expect(dialects).toEqual(['catsyphon', 'claude_code', 'codex', NO_SESSION_ID]);
  });

  test('Claude Code is recognised by its event name alone, and by resource service.name with short names', () => {
    const byName = mapAll(request([{ eventName: 'claude_code.api_request', attributes: { 'session.id': 'a', 'event.sequence': 4, model: 'm' } }]));
    const byResource = mapAll(request([{ attributes: { 'session.id': 'a', 'event.name': 'tool_result', success: true, duration_ms: '12' } }], { 'service.name': 'claude-code' }));
    const a = byName[0].outcome;
    const b = byResource[0].outcome;
    if (!('mapped' in a) || !('mapped' in b)) throw new Error('not mapped');
    expect(a.mapped).toMatchObject({ assistant: Assistant.ASSISTANT_CLAUDE_CODE, seq: 5, backingModel: { provider: 'anthropic', modelId: 'm' } });
    expect(b.mapped.message).toMatchObject({ authorRole: AuthorRole.AUTHOR_ROLE_TOOL, messageType: MessageType.MESSAGE_TYPE_TOOL_RESULT });
    expect(b.mapped.message.toolResult).toEqual({ toolCallId: '', content: '', success: true, durationMs: 12n });
  });

  test('catsyphon.* values are checked with messages naming the attribute', () => {
    const out = mapAll(
      request([
        { attributes: { 'catsyphon.session.id': 's', 'catsyphon.message.type': 'PROMPT' } },
        { attributes: { 'catsyphon.session.id': 's', 'catsyphon.author.role': 'HUMAN', 'catsyphon.message.type': 'SHOUT' } },
        { attributes: { 'catsyphon.session.id': 's', 'catsyphon.author.role': 'HUMAN', 'catsyphon.message.type': 'PROMPT', 'catsyphon.message.seq': 0 } },
        { attributes: { 'catsyphon.session.id': 's', 'catsyphon.author.role': '3', 'catsyphon.message.type': 'RESPONSE', 'catsyphon.assistant': 'CODEX' } },
      ]),
    );
    const reasons = out.map((o) => ('rejected' in o.outcome ? o.outcome.rejected.reason : 'ok'));
    expect(reasons[0]).toContain('catsyphon.author.role must name an AuthorRole');
    expect(reasons[1]).toContain('catsyphon.message.type must name a MessageType');
    expect(reasons[2]).toContain('catsyphon.message.seq must be a whole number from 1');
    expect(reasons[3]).toBe('ok');
    const last = out[3].outcome;
    if ('mapped' in last) expect([last.mapped.assistant, last.mapped.message.authorRole]).toEqual([Assistant.ASSISTANT_CODEX, AuthorRole.AUTHOR_ROLE_ASSISTANT]);
  });

  test('records without a sequence get a deterministic day thread and time-ordered seq; a resent record lands on the same place', () => {
    const rec = (time: string, prompt: string) => ({ time, attributes: { 'conversation.id': 'x', 'event.name': 'codex.user_prompt', prompt } });
    const first = mapAll(request([rec('1764000000002000000', 'b'), rec('1764000000001000000', 'a'), rec('1764000000001000000', 'a2')]));
    const again = mapAll(request([rec('1764000000001000000', 'a')]));
    const toAssemble = (xs: ReturnType<typeof mapAll>) =>
      xs.flatMap((x) => ('mapped' in x.outcome ? [{ input: x.input, mapped: x.outcome.mapped }] : []));
    const a = assembleSessions(toAssemble(first), LIMITS).sessions[0].session;
    const b = assembleSessions(toAssemble(again), LIMITS).sessions[0].session;
    expect(a.threads.map((t) => t.id)).toEqual(['main@2025-11-24']);
    const contents = a.threads[0].messages.map((m) => m.content);
    expect(contents.slice(2)).toEqual(['b']); // the later millisecond sorts last
    expect(new Set(a.threads[0].messages.map((m) => m.seq)).size).toBe(3);
    const seqOfA = a.threads[0].messages.find((m) => m.content === 'a')?.seq;
    expect(b.threads[0].messages.map((m) => [m.content, m.seq])).toEqual([['a', seqOfA]]);
  });

  test('the same record twice in one export is kept once; a different record on a used event.sequence is rejected', () => {
    const rec = (prompt: string) => ({ body: 'claude_code.user_prompt', attributes: { 'session.id': 'c', 'event.sequence': 7, prompt } });
    const mapped = mapAll(request([rec('x'), rec('x'), rec('y')])).flatMap((x) => ('mapped' in x.outcome ? [{ input: x.input, mapped: x.outcome.mapped }] : []));
    const { sessions, rejected } = assembleSessions(mapped, LIMITS);
    expect(sessions[0].session.threads[0].messages.map((m) => m.content)).toEqual(['x']);
    expect(rejected).toEqual([
      { path: 'resource_logs[0].scope_logs[0].log_records[2]', reason: expect.stringContaining('event.sequence 7 of session "c" was already used by resource_logs[0].scope_logs[0].log_records[0]') },
    ]);
  });

  test('event.timestamp with micro- or nanoseconds and offsets', () => {
    expect(isoToNs('2026-11-20T09:00:00.123456789Z')).toBe(1795165200123456789n);
    expect(isoToNs('2026-11-20T10:00:00.5+01:00')).toBe(1795165200500000000n);
    expect(isoToNs('not a time')).toBeUndefined();
  });

  test('OTLP/JSON: hex ids become bytes, a non-hex id is a 400', () => {
    const ok = decodeRequest(Buffer.from(JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ traceId: '0102', spanId: 'ff' }] }] }] })), 'json');
    expect(ok.resourceLogs[0].scopeLogs[0].logRecords[0].traceId).toEqual(Buffer.from([1, 2]));
    expect(() => decodeRequest(Buffer.from('{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"spanId":"xyz"}]}]}]}'), 'json')).toThrow(/spanId must be a hex string/);
  });

  test('the partial-success message lists five rejections and counts the rest', () => {
    const rejected = Array.from({ length: 7 }, (_v, i) => ({ path: `r[${i}]`, reason: 'why' }));
    expect(describeRejections(rejected, 9)).toBe('7 of 9 log records rejected: r[0]: why; r[1]: why; r[2]: why; r[3]: why; r[4]: why; and 2 more');
  });
});
