import { type Command, InvalidArgumentError } from 'commander';
import { GetSessionResponse } from '../../generated/catsyphon/ingest/v1/query';
import { assistantFromJSON, Assistant } from '../../generated/catsyphon/telemetry/v1/sessions';
import { withAdmin } from './admin-command';
import { cliActor, describeReport, limitOption, sinceOption } from './lifecycle-output';
import { output, table } from './output';
import { describeSession, shortEnum } from './transcript';

/** --assistant claude-code | codex | aider | cursor (or the enum name). */
const assistantOption = (text: string): number => {
  const name = text.startsWith('ASSISTANT_') ? text : `ASSISTANT_${text.toUpperCase().replace(/-/g, '_')}`;
  const value = assistantFromJSON(name);
  if (value === Assistant.UNRECOGNIZED || value === Assistant.ASSISTANT_UNSPECIFIED) {
    throw new InvalidArgumentError('expected claude-code, codex, aider or cursor');
  }
  return value;
};

/** `sessions list|show|delete`: what is stored, and deletion on request. */
export function addSessionsCommands(program: Command): void {
  const sessions = program.command('sessions').description('stored sessions: list, show, delete');

  sessions
    .command('list')
    .description('list stored sessions, most recently active first')
    .option('--workspace <id|slug>', 'only this workspace')
    .option('--collector <id>', 'only sessions this collector wrote last')
    .option('--since <duration>', 'only sessions active in the last 1h, 7d, …', sinceOption)
    .option('--assistant <name>', 'claude-code, codex, aider or cursor', assistantOption)
    .option('--limit <n>', 'at most this many (default 50)', limitOption)
    .option('--json', 'print one JSON object')
    .action(
      async (opts: { workspace?: string; collector?: string; since?: number; assistant?: number; limit?: number; json?: boolean }) => {
        const list = await withAdmin('sessions list', (admin) =>
          admin.lifecycle.listSessions({
            workspace: opts.workspace,
            collector: opts.collector,
            sinceMs: opts.since,
            assistant: opts.assistant,
            limit: opts.limit,
          }),
        );
        output(
          !!opts.json,
          { sessions: list },
          list.length === 0
            ? 'No stored sessions match.'
            : table(
                ['ID', 'ASSISTANT', 'SESSION', 'WORKSPACE', 'PROJECT', 'DEVELOPER', 'THREADS', 'MSGS', 'FIRST ACTIVITY', 'LAST ACTIVITY'],
                list.map((s) => [
                  s.id,
                  shortEnum(s.assistant, 'ASSISTANT_').replace(/_/g, '-'),
                  s.sourceSessionId,
                  s.workspaceSlug,
                  s.project ?? '-',
                  s.developer ?? '-',
                  String(s.threads),
                  String(s.messages),
                  s.startedAt,
                  s.lastActivityAt,
                ]),
              ),
        );
      },
    );

  sessions
    .command('show')
    .description('one stored session; --messages prints the transcript, --json what GetSession returns')
    .argument('<id>', 'the catsyphon id, or the collector session id when it is unique')
    .option('--messages', 'print every message (a readable transcript)')
    .option('--json', 'print the proto3 JSON of GetSessionResponse')
    .action(async (id: string, opts: { messages?: boolean; json?: boolean }) => {
      const stored = await withAdmin('sessions show', (admin) => admin.lifecycle.showSession(id));
      if (opts.json) output(true, GetSessionResponse.toJSON(stored.response) as object, '');
      else output(false, {}, describeSession(stored, !!opts.messages));
    });

  sessions
    .command('delete')
    .description('delete sessions with their threads, messages, files and plans, at once')
    .argument('<ids...>', 'catsyphon ids (sessions list)')
    .option('--dry-run', 'print what would be deleted; delete nothing')
    .option('--json', 'print one JSON object')
    .action(async (ids: string[], opts: { dryRun?: boolean; json?: boolean }) => {
      const report = await withAdmin('sessions delete', (admin) =>
        admin.lifecycle.deleteSessions(ids, { dryRun: !!opts.dryRun, actor: cliActor() }),
      );
      output(!!opts.json, { report }, describeReport(report));
    });
}
