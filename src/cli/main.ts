import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfig } from '../config/config';
import { openDatabase } from '../db/database';
import { migrateToLatest } from '../db/migrate';
import { addPushCommand } from '../push/push.cli';
import { cliLogger } from './admin-connection';
import { setRemoteAdminFlags } from './admin-command';
import { addAdminKeyCommands } from './admin-key.commands';
import { addBatchesCommands } from './batches.commands';
import { addCollectorCommands } from './collector.commands';
import { addLifecycleCommands } from './lifecycle.commands';
import { addRemoteAdminOptions, type RemoteAdminFlags } from './remote-admin.option';
import { output } from './output';
import { serve } from './serve';
import { addSessionsCommands } from './sessions.commands';
import { addWorkspaceCommands } from './workspace.commands';

export { output };

/** The version in the project's package.json (above src/cli/ or dist/src/cli/). */
export function packageVersion(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'catsyphon-ingest' && pkg.version) return pkg.version;
  }
  return 'unknown';
}

export function buildCli(): Command {
  const program = new Command('catsyphon-ingest')
    .description('gRPC ingestion service for coding-assistant sessions')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .showHelpAfterError()
    .exitOverride();
  addRemoteAdminOptions(program);
  program.hook('preAction', () => setRemoteAdminFlags(program.opts<RemoteAdminFlags>()));

  program
    .command('serve')
    .description('run the gRPC server (what `npm start` runs)')
    .action(async () => {
      await serve(loadConfig());
    });

  program
    .command('migrate')
    .description('apply pending database migrations and exit')
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig();
      const logger = cliLogger();
      const database = await openDatabase(config.database, logger, 'migrate');
      try {
        const applied = await migrateToLatest(database.db, logger);
        output(!!opts.json, { applied }, applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      } finally {
        await database.destroy();
      }
    });

  addWorkspaceCommands(program);
  addCollectorCommands(program);
  addAdminKeyCommands(program);
  addPushCommand(program);
  addBatchesCommands(program);
  addSessionsCommands(program);
  addLifecycleCommands(program);

  return program;
}

/** Entry point of bin/catsyphon-ingest.js: errors go to stderr with exit code 1. */
export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    const message = err instanceof ConfigError ? `invalid configuration: ${err.message}` : (err as Error).message;
    process.stderr.write(`catsyphon-ingest: ${message}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) void runCli(process.argv);
