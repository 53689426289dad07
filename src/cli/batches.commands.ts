import { type Command, InvalidArgumentError } from 'commander';
import { withAdmin } from './admin-command';
import { batchesTable, describeBatch, limitOption, sinceOption } from './lifecycle-output';
import { output } from './output';

const statusOption = (text: string): 'failed' | 'ok' => {
  if (text !== 'failed' && text !== 'ok') throw new InvalidArgumentError('expected failed or ok');
  return text;
};

/** `batches list|show`: the audit trail of export calls. */
export function addBatchesCommands(program: Command): void {
  const batches = program.command('batches').description('the audit trail: every authenticated export call');

  batches
    .command('list')
    .description('list recorded export calls, newest first')
    .option('--workspace <id|slug>', 'only this workspace')
    .option('--collector <id>', 'only this collector')
    .option('--since <duration>', 'only calls received in the last 30m, 1h, 7d, …', sinceOption)
    .option('--status <status>', 'failed (an error or a failed session) or ok', statusOption)
    .option('--limit <n>', 'at most this many (default 50)', limitOption)
    .option('--json', 'print one JSON object')
    .action(
      async (opts: { workspace?: string; collector?: string; since?: number; status?: 'failed' | 'ok'; limit?: number; json?: boolean }) => {
        const list = await withAdmin('batches list', (admin) =>
          admin.lifecycle.listBatches({
            workspace: opts.workspace,
            collector: opts.collector,
            sinceMs: opts.since,
            status: opts.status,
            limit: opts.limit,
          }),
        );
        output(!!opts.json, { batches: list }, list.length === 0 ? 'No recorded calls match.' : batchesTable(list));
      },
    );

  batches
    .command('show')
    .description('every recorded call with one batch_id')
    .argument('<batch-id>')
    .option('--json', 'print one JSON object')
    .action(async (batchId: string, opts: { json?: boolean }) => {
      const list = await withAdmin('batches show', (admin) => admin.lifecycle.showBatch(batchId));
      output(!!opts.json, { batches: list }, list.map(describeBatch).join('\n\n'));
    });
}
