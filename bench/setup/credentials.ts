import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { withClient } from './database';

/** How to start the server process and what token the load client sends. */
export interface ServerLaunch {
  readonly script: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

export interface BenchCredentials {
  readonly mode: 'api-key' | 'preauth';
  readonly token: string;
  readonly collectorId: string;
  readonly workspaceId: string;
  readonly launch: ServerLaunch;
}

/**
 * The one place that knows how the bench gets a collector and its key.
 *
 * preauth: API keys do not exist on this branch yet, so a workspace and a
 * collector are inserted directly and the server is the real app started by
 * bench/server/preauth-server.ts with a fixed token.
 */
export async function createCredentials(databaseUrl: string, distDir: string): Promise<BenchCredentials> {
  const slug = `bench-${randomBytes(4).toString('hex')}`;
  const { workspaceId, collectorId } = await withClient(databaseUrl, async (c) => {
    const ws = await c.query<{ id: string }>('INSERT INTO workspaces (name, slug) VALUES ($1, $2) RETURNING id', ['bench', slug]);
    const col = await c.query<{ id: string }>(
      `INSERT INTO collectors (workspace_id, name, type, key_prefix, key_hash) VALUES ($1, 'bench', 'bench', $2, 'x') RETURNING id`,
      [ws.rows[0].id, slug],
    );
    return { workspaceId: ws.rows[0].id, collectorId: col.rows[0].id };
  });
  const token = `bench_${randomBytes(16).toString('hex')}`;
  return {
    mode: 'preauth',
    token,
    collectorId,
    workspaceId,
    launch: {
      script: path.join(distDir, 'bench', 'server', 'preauth-server.js'),
      args: [],
      env: { BENCH_PREAUTH_TOKEN: token, BENCH_PREAUTH_COLLECTOR_ID: collectorId, BENCH_PREAUTH_WORKSPACE_ID: workspaceId },
    },
  };
}
