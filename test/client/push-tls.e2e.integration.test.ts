/** push to the real app serving mutual TLS (TLS_CERT_FILE, TLS_KEY_FILE, TLS_CLIENT_CA_FILE). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type PushOptions, runPush } from '../../src/push/push.command';
import { CaptureStream } from '../helpers/capture-stream';
import { FakeAuthenticator } from '../helpers/fake-auth';
import { startTestApp, type TestApp } from '../helpers/test-app';

const TLS = join(__dirname, '..', 'fixtures', 'tls');
const pem = (name: string) => readFileSync(join(TLS, name));
const EXAMPLE = join(__dirname, '..', '..', 'examples', 'json', 'codex-session.json');

describe('push over mutual TLS to the real app', () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    const authenticator = new FakeAuthenticator();
    t = await startTestApp(
      { TLS_CERT_FILE: join(TLS, 'server.pem'), TLS_KEY_FILE: join(TLS, 'server.key'), TLS_CLIENT_CA_FILE: join(TLS, 'ca.pem') },
      { authenticator },
    );
    ({ token } = await authenticator.seedCaller(t.app.database.db, 'push-tls'));
  }, 180_000);
  afterAll(async () => {
    await t?.close();
  });

  async function push(tls: PushOptions['tls']) {
    const stdout = new CaptureStream();
    const code = await runPush(
      {
        paths: [EXAMPLE],
        server: t.address,
        apiKey: token,
        tls,
        json: true,
        maxSessionsPerBatch: 1000,
        maxBatchBytes: 4 * 1024 * 1024,
        stream: false,
        deadlineMs: 10_000,
        maxAttempts: 1,
        stateFile: undefined,
      },
      { stdout, stderr: new CaptureStream(), nowNs: () => 0n },
    );
    return { code, out: JSON.parse(stdout.text()) };
  }

  test('with the CA and a client certificate the session is stored', async () => {
    const { code, out } = await push({ ca: pem('ca.pem'), cert: pem('client.pem'), key: pem('client.key') });
    expect(out.counts).toEqual({ created: 1, updated: 0, duplicate: 0, failed: 0 });
    expect(code).toBe(0);
  });

  test('without a client certificate, or in plaintext, nothing gets through', async () => {
    const noCert = await push({ ca: pem('ca.pem') });
    expect(noCert.code).toBe(1);
    expect(noCert.out.results[0]).toMatchObject({ status: 'failed', error: { source: 'rpc', code: 'UNAVAILABLE' } });
    const plaintext = await push(false);
    expect(plaintext.code).toBe(1);
    expect(plaintext.out.results[0]).toMatchObject({ status: 'failed', error: { source: 'rpc' } });
  });
});
