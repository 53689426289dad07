import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IngestClient } from '../../src/client';
import type { IngestClientOptions } from '../../src/client/types';
import { FaultServer } from '../helpers/fault-server';
import { makeSession } from '../helpers/session-factory';

const pem = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', 'tls', name));

describe('IngestClient over TLS', () => {
  let tls: FaultServer;
  let mtls: FaultServer;
  beforeAll(async () => {
    const server = { ca: pem('ca.pem'), cert: pem('server.pem'), key: pem('server.key') };
    tls = await new FaultServer().start(server);
    mtls = await new FaultServer().start({ ...server, requireClientCert: true });
  });
  afterAll(async () => {
    await tls.stop();
    await mtls.stop();
  });

  async function send(options: IngestClientOptions) {
    const client = new IngestClient({ retry: { maxAttempts: 1 }, deadlineMs: 5_000, ...options });
    try {
      return await client.exportSessions([makeSession('tls-1')]);
    } finally {
      client.close();
    }
  }

  test('trusts the server through the given CA and sends the API key', async () => {
    const report = await send({ address: tls.address, apiKey: 'cs_live_tls', tls: { ca: pem('ca.pem') } });
    expect(report.counts.created).toBe(1);
    expect(tls.calls[0].authorization).toBe('Bearer cs_live_tls');
  });

  test('a server name override checks the certificate against that name', async () => {
    const ok = await send({ address: tls.address, tls: { ca: pem('ca.pem'), serverNameOverride: 'localhost' } });
    expect(ok.results[0].error).toBeUndefined();
    const wrong = await send({ address: tls.address, tls: { ca: pem('ca.pem'), serverNameOverride: 'wrong.example' } });
    expect(wrong.results[0]).toMatchObject({ status: 'failed', error: { code: 'UNAVAILABLE' } });
  });

  test('an untrusted server certificate and a plaintext client both fail without reaching the handler', async () => {
    tls.reset();
    const untrusted = await send({ address: tls.address, tls: true });
    expect(untrusted.results[0]).toMatchObject({ status: 'failed', error: { source: 'rpc', code: 'UNAVAILABLE' } });
    const plaintext = await send({ address: tls.address, tls: false });
    expect(plaintext.results[0]).toMatchObject({ status: 'failed', error: { source: 'rpc', code: 'UNAVAILABLE' } });
    expect(tls.calls).toEqual([]);
  });

  test('mutual TLS: the client certificate is required and accepted', async () => {
    const without = await send({ address: mtls.address, tls: { ca: pem('ca.pem') } });
    expect(without.counts.failed).toBe(1);
    const withCert = await send({ address: mtls.address, tls: { ca: pem('ca.pem'), cert: pem('client.pem'), key: pem('client.key') } });
    expect(withCert.counts.created).toBe(1);
    expect(mtls.calls).toHaveLength(1);
  });
});
