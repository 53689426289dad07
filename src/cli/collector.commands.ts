import { type Command, InvalidArgumentError } from 'commander';
import { DEFAULT_COLLECTOR_TYPE } from '../collectors/collector.service';
import {
  describeCollector,
  describeIssuedKey,
  expiresIn,
  expiresInOrNever,
  issuedKeyJson,
  withAdmin,
} from './admin-command';
import { addCollectorPurgeCommand } from './lifecycle.commands';
import { output, table } from './output';
import { parseRateLimit, type RateLimitSpec } from './rate-limit.option';

const nonEmpty = (what: string) => (text: string) => {
  if (text.trim() === '') throw new InvalidArgumentError(`${what} must not be empty`);
  return text;
};

export function addCollectorCommands(program: Command): void {
  const collector = program.command('collector').description('manage collectors and their API keys');

  collector
    .command('create')
    .description('register a collector and print its API key (shown once)')
    .requiredOption('--workspace <id|slug>', 'the workspace it writes into', nonEmpty('workspace'))
    .requiredOption('--name <name>', 'display name, e.g. the machine it runs on', nonEmpty('name'))
    .option('--type <type>', 'collector type', DEFAULT_COLLECTOR_TYPE)
    .option('--expires-in <duration>', 'key lifetime, e.g. 30s, 15m, 12h, 90d (default: no expiry)', expiresIn)
    .option('--json', 'print one JSON object')
    .action(async (opts: { workspace: string; name: string; type: string; expiresIn?: number; json?: boolean }) => {
      const issued = await withAdmin('collector create', (admin) =>
        admin.createCollector({
          workspace: opts.workspace,
          name: opts.name,
          type: opts.type,
          expiresInMs: opts.expiresIn,
        }),
      );
      output(!!opts.json, issuedKeyJson(issued), `Created collector "${issued.collector.name}"\n${describeIssuedKey(issued)}`);
    });

  collector
    .command('list')
    .description('list collectors (keys are never shown, only their prefixes)')
    .option('--workspace <id|slug>', 'only this workspace')
    .option('--json', 'print one JSON object')
    .action(async (opts: { workspace?: string; json?: boolean }) => {
      const collectors = await withAdmin('collector list', (admin) => admin.listCollectors(opts.workspace));
      output(
        !!opts.json,
        { collectors },
        collectors.length === 0
          ? 'No collectors yet. Create one with: catsyphon-ingest collector create --workspace <id|slug> --name <name>'
          : table(
              ['ID', 'NAME', 'WORKSPACE', 'TYPE', 'STATUS', 'KEY', 'EXPIRES', 'LAST SEEN'],
              collectors.map((c) => [
                c.id,
                c.name,
                c.workspaceSlug,
                c.type,
                c.status,
                c.keyPrefix,
                c.expiresAt ?? 'never',
                c.lastSeenAt ?? 'never',
              ]),
            ),
      );
    });

  collector
    .command('rotate-key')
    .description('issue a new API key; the old one stops working')
    .argument('<id>', 'collector id')
    .option('--json', 'print one JSON object')
    .action(async (id: string, opts: { json?: boolean }) => {
      const issued = await withAdmin('collector rotate-key', (admin) => admin.rotateKey(id));
      output(
        !!opts.json,
        issuedKeyJson(issued),
        `Rotated the key of collector "${issued.collector.name}"; the old key no longer works.\n${describeIssuedKey(issued)}`,
      );
    });

  collector
    .command('revoke')
    .description('disable a collector for good (its row is kept for audit)')
    .argument('<id>', 'collector id')
    .option('--json', 'print one JSON object')
    .action(async (id: string, opts: { json?: boolean }) => {
      const revoked = await withAdmin('collector revoke', (admin) => admin.revokeCollector(id));
      output(
        !!opts.json,
        { collector: revoked },
        `Revoked collector "${revoked.name}"; its key no longer works.\n${describeCollector(revoked)}`,
      );
    });

  collector
    .command('update')
    .description('rename a collector, change when its key expires, or set its rate limits')
    .argument('<id>', 'collector id')
    .option('--name <name>', 'new display name', nonEmpty('name'))
    .option('--expires-in <duration>', 'new key lifetime from now (30s, 15m, 12h, 90d), or "never"', expiresInOrNever)
    .option(
      '--rate-limit <limits>',
      'per-collector limits per minute, e.g. requests=600,messages=100000 ("default" restores the server default)',
      parseRateLimit,
    )
    .option('--json', 'print one JSON object')
    .action(
      async (
        id: string,
        opts: { name?: string; expiresIn?: number | 'never'; rateLimit?: RateLimitSpec; json?: boolean },
      ) => {
        const expiresInMs = opts.expiresIn === 'never' ? null : opts.expiresIn;
        const updated = await withAdmin('collector update', (admin) =>
          admin.updateCollector(id, { name: opts.name, expiresInMs, rateLimits: opts.rateLimit }),
        );
        output(!!opts.json, { collector: updated }, `Updated collector "${updated.name}"\n${describeCollector(updated)}`);
      },
    );

  addCollectorPurgeCommand(collector);
}
