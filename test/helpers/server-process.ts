import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import * as path from 'node:path';

/** A `node dist/src/cli/main.js serve` child process and its JSON log lines. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[];
  /** Non-JSON output (stderr, crashes). */
  readonly rawOutput: string[];
  readonly grpcPort: number;
  readonly metricsPort: number | undefined;
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
  /** Sends a signal to the node process itself (never through npm). */
  signal(sig: NodeJS.Signals): void;
  /** SIGKILL if still running; used in cleanup. */
  kill(): Promise<void>;
}

export interface SpawnServerOptions {
  readonly cwd: string;
  /** The complete environment of the child (nothing is inherited). */
  readonly env: Record<string, string>;
  readonly uid?: number;
  readonly gid?: number;
  /** Give up waiting for "listening" after this long. */
  readonly startTimeoutMs?: number;
}

/**
 * Starts the compiled server as a child process and waits until it logs
 * that gRPC (and metrics, when enabled) are listening; the ports come from
 * those log lines, so GRPC_PORT=0 and METRICS_PORT=0 work.
 */
export async function spawnServer(options: SpawnServerOptions): Promise<ServerProcess> {
  const spawnOptions: SpawnOptions = {
    cwd: options.cwd,
    // OTLP/HTTP's default port (4318) would collide between parallel test files: off unless asked for.
    env: { OTLP_HTTP_PORT: '0', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    uid: options.uid,
    gid: options.gid,
  };
  const child = spawn(process.execPath, [path.join('dist', 'src', 'cli', 'main.js'), 'serve'], spawnOptions);
  const lines: Record<string, unknown>[] = [];
  const rawOutput: string[] = [];
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  let listeners: Array<() => void> = [];
  const feed = (stream: NodeJS.ReadableStream | null) => {
    let buffer = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          rawOutput.push(line);
        }
        for (const l of listeners) l();
      }
    });
  };
  feed(child.stdout);
  feed(child.stderr);

  const metricsDisabled = options.env.METRICS_ENABLED === 'false';
  const find = (msg: string) => lines.find((l) => l.msg === msg);
  const started = await new Promise<boolean>((resolve) => {
    const check = () => {
      if (find('gRPC server listening') && (metricsDisabled || find('metrics endpoint listening'))) done(true);
    };
    const timer = setTimeout(() => done(false), options.startTimeoutMs ?? 120_000);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      listeners = listeners.filter((l) => l !== check);
      resolve(ok);
    };
    listeners.push(check);
    void exited.then(() => done(false));
    check();
  });
  if (!started) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`server did not start:\n${[...lines.map((l) => JSON.stringify(l)), ...rawOutput].join('\n')}`);
  }
  return {
    child,
    lines,
    rawOutput,
    grpcPort: Number(find('gRPC server listening')?.port),
    metricsPort: metricsDisabled ? undefined : Number(find('metrics endpoint listening')?.port),
    exited,
    signal: (sig) => {
      child.kill(sig);
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** PATH and friends a child needs; the rest of the parent's env (NODE_OPTIONS from jest) stays out. */
export function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' };
}
