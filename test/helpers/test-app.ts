import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { type App, type AppOverrides, startApp } from '../../src/app';
import { type Config, loadConfig } from '../../src/config/config';
import { SessionIngestionClient } from '../../generated/catsyphon/telemetry/v1/sessions';
import { captureLogger } from './log-capture';
import { createTestDatabase, type TestDatabase } from './test-database';

export interface TestApp {
  readonly app: App;
  readonly config: Config;
  readonly address: string;
  readonly testDb: TestDatabase;
  readonly logs: ReturnType<typeof captureLogger>;
  /** A generated client for SessionIngestion, closed by `close()`. */
  readonly ingestion: SessionIngestionClient;
  health(service?: string): Promise<string>;
  close(): Promise<void>;
}

/** Starts the real app (real config parsing, migrations, server) on 127.0.0.1:0. */
export async function startTestApp(env: Record<string, string> = {}, overrides: AppOverrides = {}): Promise<TestApp> {
  const testDb = await createTestDatabase();
  const config = loadConfig({
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: '0',
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: '0', OTLP_HTTP_PORT: '0',
    SHUTDOWN_GRACE_MS: '5s',
    ...testDb.env,
    ...env,
  });
  const logs = captureLogger();
  const app = await startApp(config, logs.logger, overrides);
  const address = `127.0.0.1:${app.server.port}`;
  const ingestion = new SessionIngestionClient(address, grpc.credentials.createInsecure());
  const healthClient = createHealthClient(address);
  return {
    app,
    config,
    address,
    testDb,
    logs,
    ingestion,
    health: (service = '') =>
      new Promise((resolve, reject) =>
        healthClient.check({ service }, (err: Error | null, res: { status: string }) =>
          err ? reject(err) : resolve(res.status),
        ),
      ),
    close: async () => {
      ingestion.close();
      healthClient.close();
      await app.stop();
      await testDb.drop();
    },
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function createHealthClient(
  address: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): any {
  const def = grpc.loadPackageDefinition(protoLoader.loadSync(healthProtoPath, { enums: String })) as any;
  return new def.grpc.health.v1.Health(address, credentials, options);
}
