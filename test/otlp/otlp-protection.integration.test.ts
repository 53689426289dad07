import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { decodeStatusDetails } from '../../src/grpc/retry-info';
import { ExportLogsServiceRequest } from '../../generated/opentelemetry/proto/collector/logs/v1/logs_service';
import { bearerMetadata, grpcExport, type OtlpTestApp, post, requestBytes, startOtlpApp } from '../helpers/otlp';

const MAX_BYTES = 4096;

/** One export of `n` catsyphon.* records of session `id` (seq from `from`). */
function request(id: string, n: number, from = 1, content = 'x'): ExportLogsServiceRequest {
  return ExportLogsServiceRequest.fromJSON({
    resourceLogs: [
      {
        scopeLogs: [
          {
            logRecords: Array.from({ length: n }, (_v, i) => ({
              timeUnixNano: String(1764000000000000000n + BigInt(i)),
              body: { stringValue: content },
              attributes: [
                { key: 'catsyphon.session.id', value: { stringValue: id } },
                { key: 'catsyphon.author.role', value: { stringValue: 'HUMAN' } },
                { key: 'catsyphon.message.type', value: { stringValue: 'PROMPT' } },
                { key: 'catsyphon.message.seq', value: { intValue: String(from + i) } },
              ],
            })),
          },
        ],
      },
    ],
  });
}

const statusOf = (body: Buffer) => decodeStatusDetails(body);

/** Authentication, size limits and rate limits on both OTLP transports. */
describe('OTLP logs: API key, size limits, rate limits', () => {
  let t: OtlpTestApp;
  const newKey = async () => (await t.app.collectors.createCollector({ workspace: 'otlp', name: `k-${Math.random().toString(36).slice(2, 8)}` })).apiKey;

  beforeAll(async () => {
    t = await startOtlpApp({
      MAX_RECEIVE_MESSAGE_BYTES: String(MAX_BYTES),
      RATE_LIMIT_MESSAGES_PER_MIN: '10',
      RATE_LIMIT_MESSAGES_BURST: '0',
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  test('a bad key gets UNAUTHENTICATED over gRPC and 401 with a google.rpc.Status over HTTP; nothing is stored', async () => {
    const wrong = `${t.apiKey.slice(0, -4)}${t.apiKey.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    const viaGrpc = await grpcExport(t.grpcAddress, request('bad-key', 1), bearerMetadata(wrong));
    expect(viaGrpc.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    const none = await grpcExport(t.grpcAddress, request('bad-key', 1), new grpc.Metadata());
    expect(none.error?.code).toBe(grpc.status.UNAUTHENTICATED);

    const proto = await post(`${t.httpUrl}/v1/logs`, requestBytes(request('bad-key', 1)), {
      'Content-Type': 'application/x-protobuf',
      Authorization: `Bearer ${wrong}`,
    });
    expect(proto.status).toBe(401);
    expect(statusOf(proto.body)).toMatchObject({ code: grpc.status.UNAUTHENTICATED, message: 'invalid API key' });
    const json = await post(`${t.httpUrl}/v1/logs`, '{}', { 'Content-Type': 'application/json' });
    expect(json.status).toBe(401);
    expect(JSON.parse(json.body.toString())).toEqual({ code: grpc.status.UNAUTHENTICATED, message: 'invalid API key', details: [] });
    await expect(t.client.getSession('bad-key', 0)).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  test('an oversized request gets RESOURCE_EXHAUSTED over gRPC and 413 over HTTP, compressed or not', async () => {
    const key = await newKey();
    const big = request('too-large', 1, 1, 'y'.repeat(MAX_BYTES));
    const viaGrpc = await grpcExport(t.grpcAddress, big, bearerMetadata(key));
    expect(viaGrpc.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);

    const headers = { 'Content-Type': 'application/x-protobuf', Authorization: `Bearer ${key}` };
    const plain = await post(`${t.httpUrl}/v1/logs`, requestBytes(big), headers);
    expect(plain.status).toBe(413);
    expect(statusOf(plain.body).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    // Small on the wire, too large once decompressed.
    const bomb = gzipSync(requestBytes(big));
    expect(bomb.length).toBeLessThan(MAX_BYTES);
    const zipped = await post(`${t.httpUrl}/v1/logs`, bomb, { ...headers, 'Content-Encoding': 'gzip' });
    expect(zipped.status).toBe(413);
    expect(statusOf(zipped.body).message).toContain('MAX_RECEIVE_MESSAGE_BYTES');
    // A gzip body within the limit is accepted.
    const ok = await post(`${t.httpUrl}/v1/logs`, gzipSync(requestBytes(request('gzip-ok', 2))), { ...headers, 'Content-Encoding': 'gzip' });
    expect(ok.status).toBe(200);
    expect((await t.client.getSessionStatus('gzip-ok', 0)).messageCount).toBe(2n);
  });

  test('a rate-limited collector gets RESOURCE_EXHAUSTED with RetryInfo over gRPC and 429 with Retry-After over HTTP (log records count as messages)', async () => {
    const key = await newKey();
    const first = await grpcExport(t.grpcAddress, request('limited', 6), bearerMetadata(key));
    expect(first.error).toBeUndefined();
    const refused = await grpcExport(t.grpcAddress, request('limited', 6, 7), bearerMetadata(key));
    expect(refused.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const details = decodeStatusDetails(refused.error?.metadata.get('grpc-status-details-bin')[0] as Buffer);
    expect(details.retryDelayMs).toBeGreaterThan(0);

    const http = await post(`${t.httpUrl}/v1/logs`, requestBytes(request('limited', 6, 7)), {
      'Content-Type': 'application/x-protobuf',
      Authorization: `Bearer ${key}`,
    });
    expect(http.status).toBe(429);
    expect(Number(http.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(statusOf(http.body)).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    expect(statusOf(http.body).retryDelayMs).toBeGreaterThan(0);
    const json = await post(`${t.httpUrl}/v1/logs`, JSON.stringify(ExportLogsServiceRequest.toJSON(request('limited', 6, 7))), {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${key}`,
    });
    expect(json.status).toBe(429);
    const body = JSON.parse(json.body.toString());
    expect(body.details[0]['@type']).toBe('type.googleapis.com/google.rpc.RetryInfo');
    expect(body.details[0].retryDelay).toMatch(/^\d+(\.\d+)?s$/);
    // Only the first export was stored.
    expect((await t.client.getSessionStatus('limited', 0)).messageCount).toBe(6n);
  });
});

describe('OTLP/HTTP: endpoints, media types and other signals', () => {
  let t: OtlpTestApp;
  beforeAll(async () => {
    t = await startOtlpApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  test('metrics and traces answer UNIMPLEMENTED (gRPC) and 404 (HTTP) saying this endpoint takes logs only', async () => {
    for (const [service, signal] of [
      ['opentelemetry.proto.collector.metrics.v1.MetricsService', 'metrics'],
      ['opentelemetry.proto.collector.trace.v1.TraceService', 'traces'],
    ]) {
      const client = new grpc.Client(t.grpcAddress, grpc.credentials.createInsecure());
      const error = await new Promise<grpc.ServiceError | null>((resolve) =>
        client.makeUnaryRequest(`/${service}/Export`, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), bearerMetadata(t.apiKey), (err) => resolve(err)),
      );
      client.close();
      expect(error?.code).toBe(grpc.status.UNIMPLEMENTED);
      expect(error?.details).toContain('takes OTLP logs only');
      const http = await post(`${t.httpUrl}/v1/${signal}`, Buffer.alloc(0), { 'Content-Type': 'application/x-protobuf' });
      expect(http.status).toBe(404);
      expect(statusOf(http.body)).toMatchObject({ code: grpc.status.UNIMPLEMENTED });
      expect(statusOf(http.body).message).toContain(`not ${signal}`);
    }
  });

  test('an unsupported media type gets 415, GET gets 405, an unknown path 404, bad data 400', async () => {
    const auth = { Authorization: `Bearer ${t.apiKey}` };
    expect((await post(`${t.httpUrl}/v1/logs`, 'x', { ...auth, 'Content-Type': 'text/plain' })).status).toBe(415);
    expect((await post(`${t.httpUrl}/v1/logs`, 'x', { ...auth, 'Content-Type': 'application/json', 'Content-Encoding': 'br' })).status).toBe(415);
    const get = await fetch(`${t.httpUrl}/v1/logs`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await post(`${t.httpUrl}/v2/logs`, 'x', { ...auth, 'Content-Type': 'application/json' })).status).toBe(404);
    const badJson = await post(`${t.httpUrl}/v1/logs`, '{nope', { ...auth, 'Content-Type': 'application/json' });
    expect(badJson.status).toBe(400);
    expect(JSON.parse(badJson.body.toString()).message).toContain('not valid JSON');
    const badProto = await post(`${t.httpUrl}/v1/logs`, Buffer.from([0x0a, 0xff]), { ...auth, 'Content-Type': 'application/x-protobuf' });
    expect(badProto.status).toBe(400);
    const badId = { resourceLogs: [{ scopeLogs: [{ logRecords: [{ traceId: 'not-hex' }] }] }] };
    expect((await post(`${t.httpUrl}/v1/logs`, JSON.stringify(badId), { ...auth, 'Content-Type': 'application/json' })).status).toBe(400);
  });

  test('OTLP/JSON: hex trace and span ids, int64 as strings or numbers, unknown fields ignored', async () => {
    const body = {
      someFutureField: { a: 1 },
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'sdk-app' } }], futureField: true },
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: '1764000000000000001',
                  observedTimeUnixNano: 1764000000000000,
                  traceId: '5b8efff798038103d269b633813fc60c',
                  spanId: 'eee19b7ec3c1b174',
                  severityNumber: 9,
                  body: { stringValue: 'hello' },
                  unknownThing: 'ignored',
                  attributes: [
                    { key: 'catsyphon.session.id', value: { stringValue: 'json-rules' } },
                    { key: 'catsyphon.author.role', value: { stringValue: 'AUTHOR_ROLE_HUMAN' } },
                    { key: 'catsyphon.message.type', value: { stringValue: 'prompt' } },
                    { key: 'catsyphon.message.seq', value: { intValue: '3' } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    };
    const res = await post(`${t.httpUrl}/v1/logs`, JSON.stringify(body), { 'Content-Type': 'application/json; charset=utf-8', Authorization: `Bearer ${t.apiKey}` });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({});
    const { session } = await t.client.getSession('json-rules', 0);
    const m = session?.threads[0].messages[0];
    expect(m?.seq).toBe(3);
    expect(m?.emittedAtNs).toBe(1764000000000000001n);
    expect(m?.observedAtNs).toBe(1764000000000000n);
    const raw = JSON.parse(m?.rawData.toString() ?? '{}');
    expect(raw.traceId).toBe('5b8efff798038103d269b633813fc60c');
    expect(raw.spanId).toBe('eee19b7ec3c1b174');
  });
});
