import type { Command } from 'commander';
import { withAdmin } from './admin-command';
import { addWorkspaceLifecycleCommands } from './lifecycle.commands';
import { output, table } from './output';

export function addWorkspaceCommands(program: Command): void {
  const workspace = program.command('workspace').description('manage workspaces (each collector writes into one)');

  workspace
    .command('create')
    .description('create a workspace')
    .requiredOption('--name <name>', 'display name')
    .option('--slug <slug>', 'short unique name used by other commands (default: derived from the name)')
    .option('--json', 'print one JSON object')
    .action(async (opts: { name: string; slug?: string; json?: boolean }) => {
      const created = await withAdmin('workspace create', (admin) =>
        admin.createWorkspace({ name: opts.name, slug: opts.slug }),
      );
      output(
        !!opts.json,
        { workspace: created },
        `Created workspace "${created.name}"\n  workspace id: ${created.id}\n  slug:         ${created.slug}`,
      );
    });

  workspace
    .command('list')
    .description('list workspaces')
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }) => {
      const workspaces = await withAdmin('workspace list', (admin) => admin.listWorkspaces());
      output(
        !!opts.json,
        { workspaces },
        workspaces.length === 0
          ? 'No workspaces yet. Create one with: catsyphon-ingest workspace create --name <name>'
          : table(
              ['ID', 'SLUG', 'NAME', 'COLLECTORS', 'CREATED'],
              workspaces.map((w) => [w.id, w.slug, w.name, String(w.collectorCount), w.createdAt]),
            ),
      );
    });

  addWorkspaceLifecycleCommands(workspace);
}
