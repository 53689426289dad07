import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { compiledBuild } from './compiled-build';
import { baseEnv, type ServerProcess, spawnServer } from './server-process';
import { postgresAdminUrl } from './requirements';

/** The admin URL used to create the test's own database (real PostgreSQL only). */
export const adminDatabaseUrl = (): string => postgresAdminUrl() ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface Replica {
  readonly name: string;
  readonly server: ServerProcess;
  /** Sum of catsyphon_ingest_rpcs_total by method on this replica. */
  rpcCounts(): Promise<Map<string, number>>;
  /** One counter's value (no labels) from this replica's /metrics. */
  metric(name: string): Promise<number>;
}

export interface ReplicaCluster {
  /** host:port of the L4 proxy in front of the replicas. */
  readonly proxyAddress: string;
  readonly replicas: readonly Replica[];
  readonly databaseUrl: string;
  readonly workDir: string;
  /** Where the replicas run from: the compiled build (dist/, node_modules). */
  readonly buildDir: string;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  readonly replicas: number;
  /** Extra server environment (connection age, grace, ...). */
  readonly env?: Record<string, string>;
}

/**
 * N `node dist/src/cli/main.js serve` processes on one fresh PostgreSQL
 * database, behind haproxy in `mode tcp` (a real L4 proxy: it balances
 * connections round-robin and never looks at HTTP/2 or gRPC).
 */
export async function startReplicaCluster(options: ClusterOptions): Promise<ReplicaCluster> {
  const workDir = mkdtempSync(path.join(tmpdir(), 'cs-cluster-'));
  const buildDir = await compiledBuild();
  const dbName = `cs_multi_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = adminDatabaseUrl();
  await withAdmin(admin, (c) => c.query(`CREATE DATABASE ${dbName}`));
  const url = new URL(admin);
  url.pathname = `/${dbName}`;
  const databaseUrl = url.toString();

  const servers: ServerProcess[] = [];
  let haproxy: ChildProcess | undefined;
  const stop = async () => {
    await Promise.all(servers.map((s) => s.kill()));
    if (haproxy && haproxy.exitCode === null && haproxy.signalCode === null) {
      const exited = new Promise((r) => haproxy?.once('exit', r));
      haproxy.kill('SIGKILL');
      await exited;
    }
    await withAdmin(admin, (c) => c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`));
    rmSync(workDir, { recursive: true, force: true });
  };

  try {
    // All replicas start together on the empty database: the migrations'
    // advisory lock makes that safe.
    const started = await Promise.allSettled(
      Array.from({ length: options.replicas }, () =>
        spawnServer({
          cwd: buildDir,
          env: {
            ...baseEnv(),
            HOME: workDir,
            DATABASE_URL: databaseUrl,
            GRPC_HOST: '127.0.0.1',
            GRPC_PORT: '0',
            METRICS_HOST: '127.0.0.1',
            METRICS_PORT: '0', OTLP_HTTP_PORT: '0',
            LOG_LEVEL: 'info',
            SHUTDOWN_GRACE_MS: '5s',
            DB_POOL_SIZE: '4',
            ...options.env,
          },
        }),
      ),
    );
    for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;

    const proxyPort = await freePort();
    const config = path.join(workDir, 'haproxy.cfg');
    writeFileSync(config, haproxyConfig(proxyPort, servers.map((s) => s.grpcPort)));
    execFileSync('haproxy', ['-c', '-q', '-f', config]);
    haproxy = spawn('haproxy', ['-db', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    await waitForPort(proxyPort);

    const replicas = servers.map((server, i): Replica => {
      const scrape = async () => (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
      return {
        name: `r${i + 1}`,
        server,
        rpcCounts: async () => {
          const counts = new Map<string, number>();
          for (const m of (await scrape()).matchAll(/^catsyphon_ingest_rpcs_total\{method="([^"]+)",code="[^"]+"\} (\d+)/gm)) {
            counts.set(m[1], (counts.get(m[1]) ?? 0) + Number(m[2]));
          }
          return counts;
        },
        metric: async (name) => {
          const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(await scrape());
          return m ? Number(m[1]) : NaN;
        },
      };
    });
    return { proxyAddress: `127.0.0.1:${proxyPort}`, replicas, databaseUrl, workDir, buildDir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * TCP mode only. Health checks are plain TCP connects (every 300 ms), so a
 * replica that stopped listening leaves the rotation; `redispatch` moves a
 * refused connection attempt to another replica.
 */
function haproxyConfig(port: number, backends: number[]): string {
  return [
    'global',
    '  maxconn 2000',
    'defaults',
    '  mode tcp',
    '  option redispatch',
    '  retries 3',
    '  timeout connect 2s',
    '  timeout client 120s',
    '  timeout server 120s',
    'frontend grpc_in',
    `  bind 127.0.0.1:${port}`,
    '  default_backend replicas',
    'backend replicas',
    '  balance roundrobin',
    ...backends.map((p, i) => `  server r${i + 1} 127.0.0.1:${p} check inter 300ms fall 1 rise 2`),
    '',
  ].join('\n');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

async function withAdmin<T>(adminUrl: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
