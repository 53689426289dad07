import { Assistant, SessionStatus } from '../../generated/catsyphon/telemetry/v1/sessions';
import { ExportLogsServiceResponse } from '../../generated/opentelemetry/proto/collector/logs/v1/logs_service';
import { deltas, scrapeMetrics } from '../helpers/scrape-metrics';
import {
  bearerMetadata,
  exporterFor,
  grpcExport,
  loadFixture,
  type OtlpTestApp,
  post,
  requestBytes,
  sendFixture,
  startOtlpApp,
} from '../helpers/otlp';

/** Exports spread over many requests, retries, and partial success. */
const statusLabel = (s: SessionStatus) => SessionStatus[s].replace('SESSION_STATUS_', '').toLowerCase();

describe('OTLP logs: appends, retries and partial success', () => {
  let t: OtlpTestApp;
  beforeAll(async () => {
    t = await startOtlpApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  test('a Claude Code session exported in three parts, one part twice, reads back as one session with no duplicate message', async () => {
    const fixture = loadFixture('claude-code-session.json');
    const id = 'cc-three-parts';
    fixture.common['session.id'] = id;
    const parts = [fixture.records.slice(0, 3), fixture.records.slice(3, 6), fixture.records.slice(6)];
    const statusAfter: number[] = [];
    for (const part of [parts[0], parts[1], parts[1], parts[2]]) {
      await sendFixture(fixture, exporterFor(t, 'grpc'), part);
      statusAfter.push(Number((await t.client.getSessionStatus(id, Assistant.ASSISTANT_CLAUDE_CODE)).messageCount));
    }
    // The resent part added nothing.
    expect(statusAfter).toEqual([3, 6, 6, 9]);
    const { session } = await t.client.getSession(id, Assistant.ASSISTANT_CLAUDE_CODE);
    expect(session?.threads).toHaveLength(1);
    const messages = session?.threads[0].messages ?? [];
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(messages.map((m) => m.metadata['event.sequence'])).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8']);
    // Session fields carried over from the earlier parts: start, model, developer.
    expect(session?.startedAtNs).toBe(BigInt(Date.parse('2026-11-20T09:00:00.000Z')) * 1_000_000n);
    expect(session?.lastActivityAtNs).toBe(BigInt(Date.parse('2026-11-20T09:01:15.000Z')) * 1_000_000n);
    expect(session?.backingModel?.modelId).toBe('claude-sonnet-4-5');
    expect(session?.developer?.username).toBe('ada@example.com');
    expect(session?.threads[0].startedAtNs).toBe(BigInt(Date.parse('2026-11-20T09:00:00.000Z')) * 1_000_000n);
  });

  test('a retried Codex export (no sequence numbers) adds nothing; a session spread over exports is appended to', async () => {
    const fixture = loadFixture('codex-session.json');
    const id = 'codex-retried';
    fixture.common['conversation.id'] = id;
    await sendFixture(fixture, exporterFor(t, 'http/json'), fixture.records.slice(0, 4));
    await sendFixture(fixture, exporterFor(t, 'http/protobuf'), fixture.records.slice(0, 4));
    expect(Number((await t.client.getSessionStatus(id, Assistant.ASSISTANT_CODEX)).messageCount)).toBe(4);
    await sendFixture(fixture, exporterFor(t, 'grpc'), fixture.records);
    const { session } = await t.client.getSession(id, Assistant.ASSISTANT_CODEX);
    expect(session?.threads.flatMap((th) => th.messages).map((m) => m.metadata['event.name'])).toEqual(
      fixture.records.map((r) => r.event),
    );
  });

  const record = (attributes: Record<string, string>, body = '') => ({
    timeUnixNano: '1764000000000000000',
    body: body ? { stringValue: body } : undefined,
    attributes: Object.entries(attributes).map(([key, value]) => ({ key, value: { stringValue: value } })),
  });

  const mixedExport = (sessionId: string) => ({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'my-agent' } }] },
        scopeLogs: [
          {
            scope: { name: 'test' },
            logRecords: [
              record({ 'catsyphon.session.id': sessionId, 'catsyphon.author.role': 'HUMAN', 'catsyphon.message.type': 'PROMPT', 'catsyphon.message.seq': '1' }, 'hello'),
              record({ 'some.attribute': 'x' }, 'a log line of no session'),
              record({ 'catsyphon.session.id': sessionId, 'catsyphon.author.role': 'ASSISTANT', 'catsyphon.message.type': 'RESPONSE', 'catsyphon.message.seq': '2' }, 'hi'),
              record({ 'session.id': 'orphan' }, 'no dialect'),
            ],
          },
        ],
      },
    ],
  });

  test('over HTTP/JSON: records without a session id are rejected_log_records with a clear error_message; the valid ones are stored', async () => {
    const res = await post(`${t.httpUrl}/v1/logs`, JSON.stringify(mixedExport('plain-json')), {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${t.apiKey}`,
    });
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body.toString('utf8'));
    expect(body.partialSuccess.rejectedLogRecords).toBe('2');
    expect(body.partialSuccess.errorMessage).toContain('2 of 4 log records rejected');
    expect(body.partialSuccess.errorMessage).toContain(
      'resource_logs[0].scope_logs[0].log_records[1]: no session id: expected catsyphon.session.id, session.id or conversation.id',
    );
    expect(body.partialSuccess.errorMessage).toContain('resource_logs[0].scope_logs[0].log_records[3]: unknown dialect');
    const { session } = await t.client.getSession('plain-json', Assistant.ASSISTANT_UNSPECIFIED);
    expect(session?.threads[0].messages.map((m) => [m.seq, m.content])).toEqual([
      [1, 'hello'],
      [2, 'hi'],
    ]);
    expect(session?.metadata['service.name']).toBe('my-agent');
  });

  test('over gRPC: the same partial success; a full success leaves partial_success unset', async () => {
    const { ExportLogsServiceRequest } = await import('../../generated/opentelemetry/proto/collector/logs/v1/logs_service');
    const request = ExportLogsServiceRequest.fromJSON(mixedExport('plain-grpc'));
    const partial = await grpcExport(t.grpcAddress, request, bearerMetadata(t.apiKey));
    expect(partial.error).toBeUndefined();
    expect(partial.response?.partialSuccess?.rejectedLogRecords).toBe(2n);
    expect(partial.response?.partialSuccess?.errorMessage).toContain('no session id');

    const valid = ExportLogsServiceRequest.fromJSON(mixedExport('plain-grpc'));
    valid.resourceLogs[0].scopeLogs[0].logRecords = valid.resourceLogs[0].scopeLogs[0].logRecords.filter((_r, i) => i % 2 === 0);
    const full = await grpcExport(t.grpcAddress, valid, bearerMetadata(t.apiKey));
    expect(full.response).toEqual({ partialSuccess: undefined });
    // On the wire: an empty ExportLogsServiceResponse.
    expect(ExportLogsServiceResponse.encode(full.response as ExportLogsServiceResponse).finish()).toHaveLength(0);
    const res = await post(`${t.httpUrl}/v1/logs`, requestBytes(valid), {
      'Content-Type': 'application/x-protobuf',
      Authorization: `Bearer ${t.apiKey}`,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    expect(res.body).toHaveLength(0);
  });

  test('a record the ingest validator refuses is rejected alone; the rest of its session is stored', async () => {
    const big = 'x'.repeat(t.config.ingest.limits.maxContentBytes + 1);
    const exp = mixedExport('too-big');
    exp.resourceLogs[0].scopeLogs[0].logRecords[2] = record(
      { 'catsyphon.session.id': 'too-big', 'catsyphon.author.role': 'ASSISTANT', 'catsyphon.message.type': 'RESPONSE', 'catsyphon.message.seq': '2' },
      big,
    );
    const res = await post(`${t.httpUrl}/v1/logs`, JSON.stringify(exp), { 'Content-Type': 'application/json', Authorization: `Bearer ${t.apiKey}` });
    const body = JSON.parse(res.body.toString('utf8'));
    expect(body.partialSuccess.rejectedLogRecords).toBe('3');
    expect(body.partialSuccess.errorMessage).toContain('log_records[2]: sessions[0].threads[0].messages[1].content is');
    const { session } = await t.client.getSession('too-big', Assistant.ASSISTANT_UNSPECIFIED);
    expect(session?.threads[0].messages.map((m) => m.seq)).toEqual([1]);
  });

  test('an export of stored records only changes nothing: the session result is DUPLICATE, metrics count the records', async () => {
    const exp = mixedExport('dup-check');
    const send = () => post(`${t.httpUrl}/v1/logs`, JSON.stringify(exp), { 'Content-Type': 'application/json', Authorization: `Bearer ${t.apiKey}` });
    await send();
    const before = await t.client.getSession('dup-check', Assistant.ASSISTANT_UNSPECIFIED);
    const metricsBefore = await scrapeMetrics(t);
    await send();
    const grew = deltas(metricsBefore, await scrapeMetrics(t));
    const after = await t.client.getSession('dup-check', Assistant.ASSISTANT_UNSPECIFIED);
    expect(after).toEqual(before);
    expect(grew(`catsyphon_ingest_sessions_total{status="${statusLabel(SessionStatus.SESSION_STATUS_DUPLICATE)}"}`)).toBe(1);
    expect(grew('catsyphon_ingest_messages_ingested_total')).toBe(0);
    expect(grew('catsyphon_ingest_otlp_log_records_total{outcome="accepted"}')).toBe(2);
    expect(grew('catsyphon_ingest_otlp_log_records_total{outcome="rejected"}')).toBe(2);
    expect(grew('catsyphon_ingest_otlp_http_requests_total{status="200"}')).toBe(1);
  });
});
