import { homedir } from 'node:os';
import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { DEFAULT_LIMITS } from '../client/ingest.client';
import { tlsOptionsFromFlags } from '../client/channel';
import { parseDuration } from '../util/duration';
import { type PushOptions, runPush } from './push.command';

interface PushFlags {
  server: string;
  apiKey?: string;
  tls?: boolean;
  ca?: string;
  cert?: string;
  key?: string;
  serverName?: string;
  json?: boolean;
  batchSize: number;
  maxBatchBytes: number;
  stream?: boolean;
  timeout?: number;
  maxAttempts?: number;
  state: string | false;
}

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number >= 1');
  return n;
};

const duration = (value: string): number => {
  const ms = parseDuration(value);
  if (ms === undefined || ms < 1) throw new InvalidArgumentError('must be a duration such as 500ms, 30s or 5m');
  return ms;
};

/** Where `push` remembers when it first read each transcript line. */
export function defaultStateFile(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'catsyphon-ingest', 'push-state.json');
}


/** Adds `catsyphon-ingest push` to the CLI. */
export function addPushCommand(program: Command, env: NodeJS.ProcessEnv = process.env): void {
  program
    .command('push')
    .description('send sessions to a server: proto3-JSON files and Claude Code transcripts (files or directories, e.g. ~/.claude/projects)')
    .argument('<paths...>', '.json / .jsonl files, or directories searched recursively')
    .option('--server <host:port>', 'server address', 'localhost:4317')
    .option('--api-key <key>', 'collector API key (default: $CATSYPHON_API_KEY)')
    .option('--tls', 'connect with TLS (system roots unless --ca)')
    .option('--ca <file>', 'PEM CA certificate to trust (implies --tls)')
    .option('--cert <file>', 'PEM client certificate chain, for mutual TLS (implies --tls)')
    .option('--key <file>', 'PEM private key of --cert')
    .option('--server-name <name>', 'name to check the server certificate against')
    .option('--json', 'print one JSON object')
    .option('--batch-size <n>', 'max sessions per batch (the server\'s MAX_SESSIONS_PER_BATCH)', positiveInt, DEFAULT_LIMITS.maxSessions)
    .option('--max-batch-bytes <n>', 'max encoded bytes per request', positiveInt, DEFAULT_LIMITS.maxBytes)
    .option('--stream', 'send everything on one ExportSessionsStream call')
    .option('--timeout <duration>', 'deadline of each attempt (default 30s, 5m with --stream)', duration)
    .option('--max-attempts <n>', 'attempts per batch, retries included (default 5)', positiveInt)
    .option('--state <file>', 'file remembering when each transcript line was first read', defaultStateFile(env))
    .option('--no-state', 'keep no state: observed_at_ns = emitted_at_ns')
    .action(async (paths: string[], flags: PushFlags) => {
      const apiKey = flags.apiKey ?? env.CATSYPHON_API_KEY;
      if (!apiKey) throw new Error('an API key is required: --api-key or CATSYPHON_API_KEY');
      const options: PushOptions = {
        paths,
        server: flags.server,
        apiKey,
        tls: tlsOptionsFromFlags(flags),
        json: !!flags.json,
        maxSessionsPerBatch: flags.batchSize,
        maxBatchBytes: flags.maxBatchBytes,
        stream: !!flags.stream,
        deadlineMs: flags.timeout,
        maxAttempts: flags.maxAttempts,
        stateFile: flags.state === false ? undefined : flags.state,
      };
      const nowNs = () => BigInt(Date.now()) * 1_000_000n;
      process.exitCode = await runPush(options, { stdout: process.stdout, stderr: process.stderr, nowNs });
    });
}
