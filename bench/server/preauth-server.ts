import * as grpc from '@grpc/grpc-js';
import { startApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { unauthenticated } from '../../src/errors';
import type { Authenticator, Caller } from '../../src/grpc/rpc';
import { createRootLogger } from '../../src/logging/logger';

/**
 * The real app (startApp) with one fixed API token, for branches where API
 * keys do not exist yet. bench/setup/credentials.ts decides when it is used;
 * once `auth` is merged the bench runs `node dist/src/cli/main.js serve`.
 */
async function main(): Promise<void> {
  const token = process.env.BENCH_PREAUTH_TOKEN ?? '';
  const caller: Caller = {
    collectorId: process.env.BENCH_PREAUTH_COLLECTOR_ID ?? '',
    collectorName: 'bench',
    workspaceId: process.env.BENCH_PREAUTH_WORKSPACE_ID ?? '',
    rateLimits: { requestsPerMin: undefined, messagesPerMin: undefined },
  };
  const authenticator: Authenticator = {
    authenticate: async (metadata: grpc.Metadata) => {
      if (String(metadata.get('authorization')[0] ?? '') !== `Bearer ${token}`) throw unauthenticated();
      return caller;
    },
  };
  const config = loadConfig();
  const logger = createRootLogger(config.logLevel);
  const app = await startApp(config, logger, { authenticator });
  const stop = () => void app.stop().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main().catch((err: unknown) => {
  process.stderr.write(`preauth server: ${(err as Error).stack}\n`);
  process.exit(1);
});
