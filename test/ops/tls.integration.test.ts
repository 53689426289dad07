import { X509Certificate } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { ExportSessionsRequest, SessionIngestionClient } from '../../generated/catsyphon/telemetry/v1/sessions';
import { CertFactory } from '../helpers/certs';
import { createHealthClient, startTestApp, type TestApp } from '../helpers/test-app';
import { program, requires } from '../helpers/requirements';

/** Health Check over the given credentials; resolves with the status or rejects with the gRPC error. */
function check(address: string, credentials: grpc.ChannelCredentials, client?: any): Promise<string> {
  // A private subchannel pool: otherwise grpc-js reuses another client's
  // connection with equal credentials, and no new handshake happens.
  const c = client ?? createHealthClient(address, credentials, { 'grpc.use_local_subchannel_pool': 1 });
  return new Promise<string>((resolve, reject) =>
    c.check({ service: '' }, { deadline: Date.now() + 10_000 }, (err: grpc.ServiceError | null, res: { status: string }) =>
      err ? reject(err) : resolve(res.status),
    ),
  ).finally(() => {
    if (!client) c.close();
  });
}

/** The common name of the certificate the server presents to a new TLS connection. */
function servedCommonName(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port, ALPNProtocols: ['h2'], servername: 'localhost', rejectUnauthorized: false },
      () => {
        const cn = socket.getPeerCertificate().subject.CN;
        socket.destroy();
        resolve(String(cn));
      },
    );
    socket.once('error', reject);
  });
}

/** Starting an app with PGlite takes seconds, minutes on a loaded CI machine. */
const STARTUP_TIMEOUT_MS = 180_000;

async function scrape(t: TestApp): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${t.app.metricsServer?.port}/metrics`);
  return res.text();
}

const gate = requires([program('openssl')]);

gate.describe('TLS on the gRPC port, with certificates reloaded from disk', () => {
  const certs = new CertFactory();
  const caA = certs.ca('ca-a');
  const caB = certs.ca('ca-b');
  const first = certs.leaf('server-first', caA, 'server');
  const second = certs.leaf('server-second', caB, 'server');
  const servedCert = `${certs.dir}/served.crt`;
  const servedKey = `${certs.dir}/served.key`;
  writeFileSync(servedCert, first.cert);
  writeFileSync(servedKey, first.key);
  const trustA = grpc.credentials.createSsl(caA.cert);
  const trustB = grpc.credentials.createSsl(caB.cert);
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      TLS_CERT_FILE: servedCert,
      TLS_KEY_FILE: servedKey,
      TLS_RELOAD_INTERVAL_MS: '100ms',
      HEALTH_PORT: '0',
    });
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t?.close();
    certs.cleanup();
  });

  test('a client trusting the self-signed CA gets SERVING; plaintext and other CAs are refused', async () => {
    expect(await check(t.address, trustA)).toBe('SERVING');
    await expect(check(t.address, grpc.credentials.createInsecure())).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
    await expect(check(t.address, trustB)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(await servedCommonName(t.app.server.port)).toBe('server-first');
    expect(t.logs.text()).toContain('"tls":"tls"');
  });

  test('HEALTH_PORT serves plaintext health for kubelet probes, and nothing else', async () => {
    const healthAddress = `127.0.0.1:${t.app.server.healthPort}`;
    expect(await check(healthAddress, grpc.credentials.createInsecure())).toBe('SERVING');
    const ingestion = new SessionIngestionClient(healthAddress, grpc.credentials.createInsecure());
    try {
      const code = await new Promise<number>((resolve) =>
        ingestion.exportSessions(ExportSessionsRequest.fromPartial({}), (err) => resolve(err ? err.code : grpc.status.OK)),
      );
      expect(code).toBe(grpc.status.UNIMPLEMENTED);
    } finally {
      ingestion.close();
    }
  });

  test('the certificate expiry is exported as a metric', async () => {
    const text = await scrape(t);
    const expected = Math.floor(new Date(new X509Certificate(first.cert).validTo).getTime() / 1000);
    const match = /^catsyphon_ingest_tls_certificate_expiry_timestamp_seconds (\d+)/m.exec(text);
    expect(match && Number(match[1])).toBe(expected);
  });

  test('a swapped certificate reaches new connections while a call in flight on an old one carries on', async () => {
    const oldClient = createHealthClient(t.address, trustA);
    try {
      expect(await check(t.address, trustA, oldClient)).toBe('SERVING');
      // A long-running call on the old connection: a health Watch stream.
      const seen: string[] = [];
      const errors: grpc.ServiceError[] = [];
      const watch = oldClient.watch({ service: '' });
      watch.on('data', (res: { status: string }) => seen.push(res.status));
      watch.on('error', (err: grpc.ServiceError) => errors.push(err));
      await waitFor(() => seen.length === 1);

      // Rotate the way a Secret volume does: new files moved into place. The
      // key lands a moment after the certificate; the half-rotated set is
      // refused and the old certificate stays in service until both match.
      writeFileSync(`${servedCert}.new`, second.cert);
      renameSync(`${servedCert}.new`, servedCert);
      await sleep(250);
      expect(await servedCommonName(t.app.server.port)).toBe('server-first');
      writeFileSync(`${servedKey}.new`, second.key);
      renameSync(`${servedKey}.new`, servedKey);
      await waitFor(async () => (await servedCommonName(t.app.server.port)) === 'server-second');
      expect(t.logs.text()).toContain('still serving the previous certificate');

      // New connections see the new certificate only.
      expect(await check(t.address, trustB)).toBe('SERVING');
      await expect(check(t.address, trustA)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });

      // The old connection and its in-flight stream are untouched.
      expect(await check(t.address, trustA, oldClient)).toBe('SERVING');
      t.app.server.setServing(false);
      await waitFor(() => seen.includes('NOT_SERVING'));
      t.app.server.setServing(true);
      await waitFor(() => seen.filter((s) => s === 'SERVING').length === 2);
      expect(seen).toEqual(['SERVING', 'NOT_SERVING', 'SERVING']);
      expect(errors).toEqual([]);
      watch.cancel();
    } finally {
      oldClient.close();
    }
  });
});

gate.describe('mTLS: TLS_CLIENT_CA_FILE requires client certificates', () => {
  const certs = new CertFactory();
  const serverCa = certs.ca('server-ca');
  const clientCa = certs.ca('client-ca');
  const otherCa = certs.ca('other-ca');
  const server = certs.leaf('server', serverCa, 'server');
  const collector = certs.leaf('collector', clientCa, 'client');
  const stranger = certs.leaf('stranger', otherCa, 'client');
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      TLS_CERT_FILE: server.certFile,
      TLS_KEY_FILE: server.keyFile,
      TLS_CLIENT_CA_FILE: clientCa.certFile,
    });
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t?.close();
    certs.cleanup();
  });

  test('a call without a client certificate is refused', async () => {
    await expect(check(t.address, grpc.credentials.createSsl(serverCa.cert))).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
  });

  test('a client certificate from another CA is refused', async () => {
    const creds = grpc.credentials.createSsl(serverCa.cert, stranger.key, stranger.cert);
    await expect(check(t.address, creds)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  test('a client certificate signed by the configured CA is accepted', async () => {
    const creds = grpc.credentials.createSsl(serverCa.cert, collector.key, collector.cert);
    expect(await check(t.address, creds)).toBe('SERVING');
    expect(t.logs.text()).toContain('"tls":"mtls"');
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(condition: () => boolean | Promise<boolean>, attempts = 200): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    try {
      if (await condition()) return;
    } catch {
      // not yet
    }
    await sleep(50);
  }
  throw new Error('condition not met');
}
