import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import type { ServerLaunch } from './credentials';

/** The service under test, running as its own node process. */
export interface ServerProcess {
  readonly pid: number;
  readonly address: string;
  readonly logFile: string;
  /** SIGTERM to the node process itself (npm would not forward it), then wait for exit. */
  stop(): Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Runs a CLI command of the service to completion (migrate, key creation). */
export function runNode(script: string, args: readonly string[], env: Record<string, string>): string {
  const res = spawnSync(process.execPath, [script, ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`${script} ${args.join(' ')} failed (${res.status}): ${res.stderr || res.stdout}`);
  return res.stdout;
}

export interface StartOptions {
  readonly launch: ServerLaunch;
  readonly env: Readonly<Record<string, string>>;
  readonly nodeArgs: readonly string[];
  readonly logFile: string;
  readonly readyTimeoutMs?: number;
}

export async function startServer(options: StartOptions): Promise<ServerProcess> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const log = openSync(options.logFile, 'w');
  const child: ChildProcess = spawn(process.execPath, [...options.nodeArgs, options.launch.script, ...options.launch.args], {
    env: { ...process.env, ...options.launch.env, ...options.env, GRPC_HOST: '127.0.0.1', GRPC_PORT: String(port) },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  try {
    await waitServing(address, () => exitCode !== undefined, options.readyTimeoutMs ?? 60_000);
  } catch (err) {
    child.kill('SIGKILL');
    const tail = readFileSync(options.logFile, 'utf8').split('\n').slice(-20).join('\n');
    throw new Error(`${(err as Error).message}\nserver log (${options.logFile}):\n${tail}`);
  }
  return {
    pid: child.pid!,
    address,
    logFile: options.logFile,
    stop: async () => {
      if (exitCode !== undefined) return exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

async function waitServing(address: string, gone: () => boolean, timeoutMs: number): Promise<void> {
  const def = grpc.loadPackageDefinition(protoLoader.loadSync(healthProtoPath, { enums: String })) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  const client = new def.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (gone()) throw new Error('the server exited during startup');
      const status = await new Promise<string | undefined>((resolve) =>
        client.check({ service: '' }, { deadline: Date.now() + 1_000 }, (err: Error | null, res?: { status: string }) =>
          resolve(err ? undefined : res?.status),
        ),
      );
      if (status === 'SERVING') return;
      if (Date.now() > deadline) throw new Error(`the server did not report SERVING within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    client.close();
  }
}
