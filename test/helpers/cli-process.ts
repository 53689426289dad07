import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'catsyphon-ingest.js');
const BUILT = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * The CLI tests run the compiled program as a user would. `npm install`
 * builds dist/ (the `prepare` script); this rebuilds it when src/ or
 * generated/ changed since, so the tests never run stale code.
 */
export function ensureBuilt(): void {
  const sources = Math.max(newestMtime(path.join(ROOT, 'src')), newestMtime(path.join(ROOT, 'generated')));
  // tsc rewrites every output file, so the entry point's time is the build's.
  if (existsSync(BUILT) && statSync(BUILT).mtimeMs >= sources) return;
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

/** A clean environment for child processes: nothing leaks in from the test run but PATH and HOME. */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  // An ephemeral metrics port: servers of parallel test files must not all bind 9464.
  return { PATH: process.env.PATH, HOME: process.env.HOME, METRICS_PORT: '0', OTLP_HTTP_PORT: '0', ...env };
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `catsyphon-ingest <args>` (bin/catsyphon-ingest.js) and collects its output. */
export function runCli(args: readonly string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: childEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Everything the server printed so far (JSON log lines). */
  output(): string;
  /** Resolves when a log line matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `catsyphon-ingest serve` and waits until it listens (and, if asked, until a log line appears). */
export async function startServer(env: Record<string, string>, readyPattern: RegExp): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd: ROOT, env: childEnv(env) });
  let out = '';
  const waiters: Array<() => void> = [];
  const onData = (d: Buffer) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => {
    done = true;
    for (const w of waiters.splice(0)) w();
  });

  const waitFor = (pattern: RegExp, timeoutMs = 120_000) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not log ${pattern} in time:\n${out}`)), timeoutMs);
      const check = () => {
        const line = out.split('\n').find((l) => pattern.test(l));
        if (line) {
          clearTimeout(timer);
          resolve(line);
        } else if (done) {
          clearTimeout(timer);
          reject(new Error(`server exited before logging ${pattern}:\n${out}`));
        } else waiters.push(check);
      };
      check();
    });

  try {
    const listening = await waitFor(/"msg":"gRPC server listening"/);
    await waitFor(readyPattern);
    const port = (JSON.parse(listening) as { port: number }).port;
    return {
      child,
      port,
      output: () => out,
      waitFor,
      stop: async (signal = 'SIGTERM') => {
        if (!done) child.kill(signal);
        return exited;
      },
    };
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  }
}
