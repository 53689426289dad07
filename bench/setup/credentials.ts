import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { runNode } from './server-process';

/** How to start the server process and what token the load client sends. */
export interface ServerLaunch {
  readonly script: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

export interface BenchCredentials {
  readonly mode: string;
  readonly token: string;
  readonly collectorId: string;
  readonly workspaceId: string;
  readonly launch: ServerLaunch;
}

/**
 * The one place that knows how the bench gets a collector and its API key:
 * the service's own CLI creates a workspace and a collector (with a real
 * bcrypt-hashed key), and the server is `catsyphon-ingest serve`, so calls
 * go through the real API-key authenticator and its cache.
 */
export async function createCredentials(databaseUrl: string, distDir: string): Promise<BenchCredentials> {
  const cli = path.join(distDir, 'src', 'cli', 'main.js');
  const env = { DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' };
  const slug = `bench-${randomBytes(4).toString('hex')}`;
  runNode(cli, ['workspace', 'create', '--name', 'bench', '--slug', slug, '--json'], env);
  const issued = JSON.parse(
    runNode(cli, ['collector', 'create', '--workspace', slug, '--name', 'bench', '--type', 'bench', '--json'], env),
  ) as { collectorId: string; workspaceId: string; apiKey: string };
  return {
    mode: 'catsyphon-ingest serve, API key from `collector create`',
    token: issued.apiKey,
    collectorId: issued.collectorId,
    workspaceId: issued.workspaceId,
    launch: { script: cli, args: ['serve'], env: {} },
  };
}
