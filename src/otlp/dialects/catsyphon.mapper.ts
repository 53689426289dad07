import type { IngestLimits } from '../../config/config';
import { Assistant, AuthorRole, MessageType, ThreadType } from '../../../generated/catsyphon/telemetry/v1/sessions';
import type { MapOutcome, RecordInput } from './dialect';
import { baseMessage, bodyText, developerFrom, observedNs } from './record.common';

export const CATSYPHON_SESSION_ID = 'catsyphon.session.id';
const MAX_SEQ = 2147483647;

/** An enum value named with or without its prefix (`HUMAN`, `AUTHOR_ROLE_HUMAN`), or by number. */
function enumValue<E extends Record<string, string | number>>(e: E, prefix: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim().toUpperCase();
  if (/^\d+$/.test(t)) return Number(t) > 0 && e[Number(t)] !== undefined ? Number(t) : undefined;
  const value = e[(t.startsWith(prefix) ? t : `${prefix}${t}`) as keyof E];
  return typeof value === 'number' && value > 0 ? value : undefined;
}

/**
 * The original plan's attributes: `catsyphon.session.id`, `catsyphon.thread.id`
 * (default `main`), `catsyphon.author.role`, `catsyphon.message.type`,
 * `catsyphon.message.seq`, and `catsyphon.assistant` (optional); body ->
 * content, time_unix_nano -> emitted_at_ns, observed_time_unix_nano ->
 * observed_at_ns.
 */
export function mapCatsyphon(input: RecordInput, limits: IngestLimits): MapOutcome {
  const a = input.attributes;
  const reject = (reason: string): MapOutcome => ({ rejected: { path: input.path, reason } });
  const sessionId = a.text(CATSYPHON_SESSION_ID) as string;
  const role = enumValue(AuthorRole, 'AUTHOR_ROLE_', a.text('catsyphon.author.role'));
  if (role === undefined) {
    return reject(`catsyphon.author.role must name an AuthorRole (HUMAN, ASSISTANT, TOOL, ...), got ${JSON.stringify(a.text('catsyphon.author.role') ?? null)}`);
  }
  const type = enumValue(MessageType, 'MESSAGE_TYPE_', a.text('catsyphon.message.type'));
  if (type === undefined) {
    return reject(`catsyphon.message.type must name a MessageType (PROMPT, RESPONSE, TOOL_CALL, ...), got ${JSON.stringify(a.text('catsyphon.message.type') ?? null)}`);
  }
  let assistant: number = Assistant.ASSISTANT_UNSPECIFIED;
  if (a.has('catsyphon.assistant')) {
    const named = enumValue(Assistant, 'ASSISTANT_', a.text('catsyphon.assistant'));
    if (named === undefined) return reject(`catsyphon.assistant must name an Assistant (CLAUDE_CODE, CODEX, ...), got ${JSON.stringify(a.text('catsyphon.assistant'))}`);
    assistant = named;
  }
  const seq = a.integer('catsyphon.message.seq');
  if (a.has('catsyphon.message.seq') && (seq === undefined || seq < 1n || seq > BigInt(MAX_SEQ))) {
    return reject(`catsyphon.message.seq must be a whole number from 1 to ${MAX_SEQ}`);
  }
  const emittedAtNs = input.record.timeUnixNano > 0n ? input.record.timeUnixNano : observedNs(input);
  return {
    mapped: {
      dialect: 'catsyphon',
      assistant,
      sessionId,
      threadId: a.text('catsyphon.thread.id') ?? 'main',
      threadType: ThreadType.THREAD_TYPE_MAIN,
      seq: seq === undefined ? undefined : Number(seq),
      seqSource: seq === undefined ? undefined : `catsyphon.message.seq ${seq}`,
      orderNs: emittedAtNs,
      message: baseMessage(input, limits, {
        authorRole: role,
        messageType: type,
        content: bodyText(input),
        emittedAtNs,
        observedAtNs: input.record.observedTimeUnixNano,
        authorName: a.text('catsyphon.author.name'),
      }),
      developer: developerFrom(input, ['user.id']),
    },
  };
}
