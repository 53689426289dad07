import type { IngestLimits } from '../../config/config';
import type { ExportLogsServiceRequest } from '../../../generated/opentelemetry/proto/collector/logs/v1/logs_service';
import { Attributes, plainValue } from '../log-record.attributes';
import { CATSYPHON_SESSION_ID, mapCatsyphon } from './catsyphon.mapper';
import { CLAUDE_CODE_PREFIX, isClaudeCode, mapClaudeCode } from './claude-code.mapper';
import { CODEX_PREFIX, isCodex, mapCodex } from './codex.mapper';
import type { MapOutcome, RecordInput } from './dialect';

const KNOWN_PREFIXES = [CLAUDE_CODE_PREFIX, CODEX_PREFIX];

export const NO_SESSION_ID = 'no session id: expected catsyphon.session.id, session.id or conversation.id';

/**
 * Picks each record's dialect and maps it. `catsyphon.*` attributes win
 * (the sender asked for them explicitly), then Claude Code, then Codex.
 */
export function mapRecord(input: RecordInput, limits: IngestLimits): MapOutcome {
  if (input.attributes.text(CATSYPHON_SESSION_ID) !== undefined) return mapCatsyphon(input, limits);
  if (isClaudeCode(input)) return mapClaudeCode(input, limits);
  if (isCodex(input)) return mapCodex(input, limits);
  const a = input.attributes;
  if (a.has('session.id') || a.has('conversation.id')) {
    return {
      rejected: {
        path: input.path,
        reason:
          'unknown dialect: a session.id or conversation.id without resource service.name claude-code/codex or a ' +
          'claude_code.*/codex.* event name; send catsyphon.* attributes instead',
      },
    };
  }
  return { rejected: { path: input.path, reason: NO_SESSION_ID } };
}

/** Every record of a request with its resource, scope, event name and field path, in request order. */
export function* recordsOf(request: ExportLogsServiceRequest): Generator<RecordInput> {
  let r = 0;
  for (const resourceLogs of request.resourceLogs) {
    const resource = new Attributes(resourceLogs.resource?.attributes ?? []);
    let s = 0;
    for (const scopeLogs of resourceLogs.scopeLogs) {
      let k = 0;
      for (const record of scopeLogs.logRecords) {
        const attributes = new Attributes(record.attributes);
        const body = plainValue(record.body);
        // Claude Code puts `claude_code.user_prompt` in the body and `user_prompt` in event.name: the prefixed one names the dialect.
        const names = [record.eventName, attributes.text('event.name'), typeof body === 'string' ? body : undefined].filter(
          (n): n is string => n !== undefined && n !== '',
        );
        const eventName = names.find((n) => KNOWN_PREFIXES.some((p) => n.startsWith(p))) ?? names[0];
        yield {
          record,
          attributes,
          resource,
          scope: scopeLogs.scope,
          eventName,
          path: `resource_logs[${r}].scope_logs[${s}].log_records[${k}]`,
        };
        k++;
      }
      s++;
    }
    r++;
  }
}

/** The number of log records in a request (what the rate limit and buffer cap count). */
export function countLogRecords(request: ExportLogsServiceRequest): number {
  let n = 0;
  for (const rl of request.resourceLogs) for (const sl of rl.scopeLogs) n += sl.logRecords.length;
  return n;
}
