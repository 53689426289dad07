import type { Command } from 'commander';
import { formatDuration } from '../util/duration';
import { withAdmin } from './admin-command';
import { cliActor, describeReport, retentionOption } from './lifecycle-output';
import { output } from './output';

/** `workspace update --retention`, `workspace delete --purge`. */
export function addWorkspaceLifecycleCommands(workspace: Command): void {
  workspace
    .command('update')
    .description("change a workspace's settings")
    .argument('<workspace>', 'id or slug')
    .requiredOption(
      '--retention <duration|never>',
      'keep sessions this long after their last activity (30d, 365d, …) or never',
      retentionOption,
    )
    .option('--json', 'print one JSON object')
    .action(async (ws: string, opts: { retention: number | 'never'; json?: boolean }) => {
      const view = await withAdmin('workspace update', (admin) =>
        admin.lifecycle.setRetention(ws, opts.retention === 'never' ? null : opts.retention),
      );
      output(
        !!opts.json,
        { workspace: view },
        `Workspace ${view.slug} keeps sessions ${view.retentionMs === null ? 'forever' : `for ${formatDuration(view.retentionMs)} after their last activity`}`,
      );
    });

  workspace
    .command('delete')
    .description('delete a workspace with every session, collector and record of it')
    .argument('<workspace>', 'id or slug')
    .option('--purge', 'confirm: delete all of its data (required)')
    .option('--dry-run', 'print what would be deleted; delete nothing')
    .option('--json', 'print one JSON object')
    .action(async (ws: string, opts: { purge?: boolean; dryRun?: boolean; json?: boolean }) => {
      if (!opts.purge && !opts.dryRun) {
        throw new Error('workspace delete removes all of its sessions and collectors; pass --purge to confirm (or --dry-run)');
      }
      const report = await withAdmin('workspace delete', (admin) =>
        admin.lifecycle.deleteWorkspace(ws, { dryRun: !!opts.dryRun, actor: cliActor() }),
      );
      output(!!opts.json, { report }, describeReport(report));
    });
}

/** `collector purge`. */
export function addCollectorPurgeCommand(collector: Command): void {
  collector
    .command('purge')
    .description('revoke a collector and delete every session it sent (it stays, revoked, for the audit)')
    .argument('<collector-id>')
    .option('--delete-collector', 'delete the collector itself too')
    .option('--dry-run', 'print what would be deleted; delete nothing')
    .option('--json', 'print one JSON object')
    .action(async (id: string, opts: { deleteCollector?: boolean; dryRun?: boolean; json?: boolean }) => {
      const report = await withAdmin('collector purge', (admin) =>
        admin.lifecycle.purgeCollector(id, {
          deleteCollector: !!opts.deleteCollector,
          dryRun: !!opts.dryRun,
          actor: cliActor(),
        }),
      );
      output(!!opts.json, { report }, describeReport(report));
    });
}

/** `developer purge`, `retention sweep`. */
export function addLifecycleCommands(program: Command): void {
  program
    .command('developer')
    .description("a developer's data")
    .command('purge')
    .description('delete every session of a developer (by email) in a workspace')
    .requiredOption('--workspace <id|slug>', 'the workspace')
    .requiredOption('--email <email>', "the developer's email (case-insensitive)")
    .option('--dry-run', 'print what would be deleted; delete nothing')
    .option('--json', 'print one JSON object')
    .action(async (opts: { workspace: string; email: string; dryRun?: boolean; json?: boolean }) => {
      const report = await withAdmin('developer purge', (admin) =>
        admin.lifecycle.purgeDeveloper(opts.workspace, opts.email, { dryRun: !!opts.dryRun, actor: cliActor() }),
      );
      output(!!opts.json, { report }, describeReport(report));
    });

  program
    .command('retention')
    .description('per-workspace retention')
    .command('sweep')
    .description('run one retention sweep now (the server runs one every RETENTION_SWEEP_INTERVAL)')
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }) => {
      const report = await withAdmin('retention sweep', (admin) => admin.lifecycle.sweepRetention());
      output(!!opts.json, { report }, describeReport(report));
    });
}
