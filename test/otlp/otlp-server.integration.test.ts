import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Assistant } from '../../generated/catsyphon/telemetry/v1/sessions';
import { createHealthClient } from '../helpers/test-app';
import { type OtlpTestApp, post, startOtlpApp } from '../helpers/otlp';
import { ReflectionClient } from '../helpers/reflection-client';

const LOGS_SERVICE = 'opentelemetry.proto.collector.logs.v1.LogsService';

/** The README's curl example, exactly as written between its markers. */
function readmeCurlExample(): { command: string; json: string } {
  const readme = readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
  const block = /<!-- otlp-curl-example -->\s*```sh\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README.md has no <!-- otlp-curl-example --> block');
  const json = /-d '([\s\S]*?)'/.exec(block[1]);
  if (!json) throw new Error('the README curl example has no -d \'…\' body');
  return { command: block[1], json: json[1] };
}

describe('OTLP on the running server: reflection, health, the README example, shutdown', () => {
  let t: OtlpTestApp;
  beforeAll(async () => {
    t = await startOtlpApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  test('reflection lists the LogsService (what `grpcurl -plaintext … list` shows) and describes its messages', async () => {
    const reflection = new ReflectionClient(t.grpcAddress);
    try {
      expect(await reflection.listServices()).toContain(LOGS_SERVICE);
      const files = await reflection.fileContainingSymbol(LOGS_SERVICE);
      expect(files.map((f) => f.name)).toEqual(
        expect.arrayContaining(['opentelemetry/proto/collector/logs/v1/logs_service.proto']),
      );
      const logs = await reflection.fileContainingSymbol('opentelemetry.proto.logs.v1.LogRecord');
      const logsFile = logs.find((f) => f.name === 'opentelemetry/proto/logs/v1/logs.proto');
      expect(logsFile.dependency).toEqual(['opentelemetry/proto/common/v1/common.proto', 'opentelemetry/proto/resource/v1/resource.proto']);
      // grpcurl resolves dependencies by file name: each must be served.
      for (const symbol of ['opentelemetry.proto.common.v1.AnyValue', 'opentelemetry.proto.resource.v1.Resource']) {
        expect((await reflection.fileContainingSymbol(symbol)).length).toBeGreaterThan(0);
      }
    } finally {
      reflection.close();
    }
  });

  test('health reports the LogsService; the refusing metrics/trace services are not listed', async () => {
    const health = createHealthClient(t.grpcAddress);
    const check = (service: string) =>
      new Promise<string>((resolve, reject) =>
        health.check({ service }, (err: grpc.ServiceError | null, res: { status: string }) => (err ? reject(err) : resolve(res.status))),
      );
    try {
      expect(await check(LOGS_SERVICE)).toBe('SERVING');
      await expect(check('opentelemetry.proto.collector.metrics.v1.MetricsService')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    } finally {
      health.close();
    }
  });

  test("the README's curl JSON example stores a session", async () => {
    const { command, json } = readmeCurlExample();
    expect(command).toContain('http://localhost:4318/v1/logs');
    expect(command).toContain('Authorization: Bearer $CATSYPHON_API_KEY');
    let status: number;
    let body: string;
    try {
      // The real curl when it is installed (asynchronously: the server runs in this process), else fetch.
      const { stdout: out } = await promisify(execFile)(
        'curl',
        ['-sS', '-o', '-', '-w', '\n%{http_code}', `${t.httpUrl}/v1/logs`, '-H', 'Content-Type: application/json', '-H', `Authorization: Bearer ${t.apiKey}`, '-d', json],
        { encoding: 'utf8' },
      );
      const lines = out.trimEnd().split('\n');
      status = Number(lines.pop());
      body = lines.join('\n');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const res = await post(`${t.httpUrl}/v1/logs`, json, { 'Content-Type': 'application/json', Authorization: `Bearer ${t.apiKey}` });
      status = res.status;
      body = res.body.toString();
    }
    expect(status).toBe(200);
    expect(JSON.parse(body)).toEqual({});
    const { session } = await t.client.getSession('readme-example-1', Assistant.ASSISTANT_UNSPECIFIED);
    expect(session?.threads[0].messages.map((m) => m.content)).toEqual(['How do I add a column in Kysely?']);
  });
});

/** A POST over HTTPS that trusts only the test CA. */
function postTls(url: string, body: string, headers: Record<string, string>, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: 'POST', headers, ca }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('OTLP/HTTP with TLS on', () => {
  test('is HTTPS with the gRPC certificate; plaintext HTTP gets no answer', async () => {
    const tlsDir = path.resolve(__dirname, '../fixtures/tls');
    const t = await startOtlpApp({ TLS_CERT_FILE: `${tlsDir}/server.pem`, TLS_KEY_FILE: `${tlsDir}/server.key` });
    try {
      const port = t.app.otlpHttp?.port;
      const headers = { 'Content-Type': 'application/json', Authorization: `Bearer ${t.apiKey}` };
      const json = JSON.stringify({ resourceLogs: [] });
      expect(await postTls(`https://localhost:${port}/v1/logs`, json, headers, readFileSync(`${tlsDir}/ca.pem`))).toBe(200);
      await expect(post(`http://127.0.0.1:${port}/v1/logs`, json, headers)).rejects.toThrow();
    } finally {
      await t.close();
    }
  });
});

describe('OTLP/HTTP and shutdown', () => {
  test('stop() closes the OTLP/HTTP listener along with gRPC', async () => {
    const t = await startOtlpApp();
    const url = `${t.httpUrl}/v1/logs`;
    expect((await post(url, '{}', { 'Content-Type': 'application/json', Authorization: `Bearer ${t.apiKey}` })).status).toBe(200);
    await t.close();
    await expect(fetch(url, { method: 'POST', body: '{}' })).rejects.toThrow();
  });
});
