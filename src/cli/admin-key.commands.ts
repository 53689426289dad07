import { type Command, InvalidArgumentError } from 'commander';
import type { AdminKeyApi } from '../admin/admin-api';
import type { AdminKeyView } from '../collectors/collector.views';
import { expiresIn, isRemoteAdmin, withAdmin } from './admin-command';
import { output, table } from './output';

const nonEmpty = (what: string) => (text: string) => {
  if (text.trim() === '') throw new InvalidArgumentError(`${what} must not be empty`);
  return text;
};

/** Runs an admin-key command locally (database or admin socket): never over the network. */
async function withAdminKeys<T>(role: string, run: (keys: AdminKeyApi) => Promise<T>): Promise<T> {
  if (isRemoteAdmin()) {
    throw new Error(
      'admin keys are managed with local database access or over the admin socket, not with --server; ' +
        'run admin-key commands where DATABASE_URL/DATA_DIR reach the database',
    );
  }
  return withAdmin(role, async (admin) => {
    const { createAdminKey, listAdminKeys, revokeAdminKey } = admin;
    if (!createAdminKey || !listAdminKeys || !revokeAdminKey) throw new Error('this connection cannot manage admin keys');
    return run({ createAdminKey, listAdminKeys, revokeAdminKey });
  });
}

function describeAdminKey(k: AdminKeyView): string {
  return [
    `  admin key id: ${k.id}`,
    `  name:         ${k.name}`,
    `  workspace:    ${k.workspaceId ? `${k.workspaceSlug} (${k.workspaceId})` : 'all workspaces'}`,
    `  status:       ${k.status}`,
    `  key prefix:   ${k.keyPrefix}`,
    `  expires:      ${k.expiresAt ?? 'never'}`,
    ...(k.revokedAt ? [`  revoked at:   ${k.revokedAt}`] : []),
  ].join('\n');
}

export function addAdminKeyCommands(program: Command): void {
  const adminKey = program
    .command('admin-key')
    .description('manage admin keys of the network admin API (ADMIN_API=on); needs local database access or the admin socket');

  adminKey
    .command('create')
    .description('issue an admin key (cs_admin_…, shown once)')
    .requiredOption('--name <name>', 'who or what uses it, e.g. ops or provisioning (shown in the logs)', nonEmpty('name'))
    .option('--workspace <id|slug>', 'limit the key to this workspace (default: every workspace)')
    .option('--expires-in <duration>', 'key lifetime, e.g. 30s, 15m, 12h, 90d (default: no expiry)', expiresIn)
    .option('--json', 'print one JSON object')
    .action(async (opts: { name: string; workspace?: string; expiresIn?: number; json?: boolean }) => {
      const issued = await withAdminKeys('admin-key create', (keys) =>
        keys.createAdminKey({ name: opts.name, workspace: opts.workspace, expiresInMs: opts.expiresIn }),
      );
      output(
        !!opts.json,
        { adminKeyId: issued.adminKey.id, adminKey: issued.key, key: issued.adminKey },
        [
          `Created admin key "${issued.adminKey.name}"`,
          describeAdminKey(issued.adminKey),
          `  admin key:    ${issued.key}`,
          '',
          'Store the key now: it is shown only this once and cannot be recovered.',
          'Use it with: catsyphon-ingest --server <host:4317> --admin-key <key> collector list',
        ].join('\n'),
      );
    });

  adminKey
    .command('list')
    .description('list admin keys (keys are never shown, only their prefixes)')
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }) => {
      const keys = await withAdminKeys('admin-key list', (api) => api.listAdminKeys());
      output(
        !!opts.json,
        { adminKeys: keys },
        keys.length === 0
          ? 'No admin keys yet. Create one with: catsyphon-ingest admin-key create --name <name>'
          : table(
              ['ID', 'NAME', 'WORKSPACE', 'STATUS', 'KEY', 'EXPIRES'],
              keys.map((k) => [k.id, k.name, k.workspaceSlug ?? '*', k.status, k.keyPrefix, k.expiresAt ?? 'never']),
            ),
      );
    });

  adminKey
    .command('revoke')
    .description('disable an admin key for good (its row is kept)')
    .argument('<id>', 'admin key id')
    .option('--json', 'print one JSON object')
    .action(async (id: string, opts: { json?: boolean }) => {
      const revoked = await withAdminKeys('admin-key revoke', (api) => api.revokeAdminKey(id));
      output(!!opts.json, { adminKey: revoked }, `Revoked admin key "${revoked.name}"; it no longer works.\n${describeAdminKey(revoked)}`);
    });
}
