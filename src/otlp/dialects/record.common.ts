import type { IngestLimits } from '../../config/config';
import { LogRecord } from '../../../generated/opentelemetry/proto/logs/v1/logs';
import type { Message, TokenUsage } from '../../../generated/catsyphon/telemetry/v1/sessions';
import { isoToNs, jsonText, plainValue, type Attributes } from '../log-record.attributes';
import type { RecordInput } from './dialect';

/**
 * The record in OTLP/JSON form (lowerCamelCase, int64 as strings, trace and
 * span ids as hex): stored as the message's raw_data, so nothing of the
 * record is lost whatever the mapping keeps in typed fields.
 */
export function rawRecordJson(input: RecordInput): Buffer {
  const json = LogRecord.toJSON(input.record) as Record<string, unknown>;
  if (input.record.traceId.length > 0) json.traceId = input.record.traceId.toString('hex');
  if (input.record.spanId.length > 0) json.spanId = input.record.spanId.toString('hex');
  if (input.scope && (input.scope.name !== '' || input.scope.version !== '')) {
    json.scope = { name: input.scope.name, version: input.scope.version };
  }
  return Buffer.from(JSON.stringify(json), 'utf8');
}

/**
 * Every attribute of the record as message metadata (non-string values as
 * JSON), plus the scope and the event name. A value over the metadata limits
 * is left out here; raw_data still holds it.
 */
export function recordMetadata(input: RecordInput, limits: IngestLimits): Record<string, string> {
  const out: Record<string, string> = {};
  let count = 0;
  const put = (key: string, value: string) => {
    if (count >= limits.maxMetadataEntries) return;
    if (Buffer.byteLength(key) > limits.maxStringBytes || Buffer.byteLength(value) > limits.maxMetadataValueBytes) return;
    if (!(key in out)) count++;
    out[key] = value;
  };
  for (const [k, v] of input.attributes.entries()) put(k, v);
  if (input.eventName !== undefined && !input.attributes.has('event.name')) put('event.name', input.eventName);
  if (input.scope?.name) put('otel.scope.name', input.scope.name);
  if (input.scope?.version) put('otel.scope.version', input.scope.version);
  if (input.record.severityText) put('otel.severity_text', input.record.severityText);
  return out;
}

/** The record's time: `event.timestamp`, else time_unix_nano, else observed_time_unix_nano (ns). */
export function recordTimeNs(input: RecordInput): bigint {
  return (
    isoToNs(input.attributes.text('event.timestamp')) ??
    (input.record.timeUnixNano > 0n ? input.record.timeUnixNano : input.record.observedTimeUnixNano)
  );
}

/** When the exporter saw the record: observed_time_unix_nano, else time_unix_nano. */
export function observedNs(input: RecordInput): bigint {
  return input.record.observedTimeUnixNano > 0n ? input.record.observedTimeUnixNano : input.record.timeUnixNano;
}

/** The record body as text: a string body as is, anything else as JSON; '' when unset. */
export function bodyText(input: RecordInput): string {
  const v = plainValue(input.record.body);
  if (v === null) return '';
  return typeof v === 'string' ? v : jsonText(v);
}

/** A message with every common field filled from the record; dialects override the rest. */
export function baseMessage(
  input: RecordInput,
  limits: IngestLimits,
  fields: Pick<Message, 'authorRole' | 'messageType'> & Partial<Omit<Message, 'seq'>>,
): Omit<Message, 'seq'> {
  return {
    authorName: undefined,
    content: '',
    emittedAtNs: recordTimeNs(input),
    observedAtNs: observedNs(input),
    tokens: undefined,
    toolCalls: [],
    toolResult: undefined,
    filesTouched: [],
    rawData: rawRecordJson(input),
    metadata: recordMetadata(input, limits),
    ...fields,
  };
}

/** Token counts from the named attributes; undefined when none is present. */
export function tokenUsage(
  attributes: Attributes,
  keys: { input: string; output: string; cacheRead: string; cacheCreation?: string },
): TokenUsage | undefined {
  const count = (key: string | undefined) => (key === undefined ? undefined : attributes.number(key));
  const values = [count(keys.input), count(keys.output), count(keys.cacheRead), count(keys.cacheCreation)];
  if (values.every((v) => v === undefined)) return undefined;
  const int32 = (v: number | undefined) => Math.max(0, Math.min(2147483647, Math.trunc(v ?? 0)));
  return {
    inputTokens: int32(values[0]),
    outputTokens: int32(values[1]),
    cacheReadTokens: int32(values[2]),
    cacheCreationTokens: int32(values[3]),
  };
}

/** A developer from `user.*` attributes of the record or its resource. */
export function developerFrom(input: RecordInput, idKeys: readonly string[]) {
  const pick = (key: string) => input.attributes.text(key) ?? input.resource.text(key);
  const email = pick('user.email');
  const ids = idKeys.map((k) => [k, pick(k)] as const).filter((e): e is readonly [string, string] => e[1] !== undefined);
  const username = email ?? ids[0]?.[1];
  if (username === undefined) return undefined;
  const org = pick('organization.id');
  const metadata: Record<string, string> = Object.fromEntries(ids);
  if (org !== undefined) metadata['organization.id'] = org;
  return { username, email, metadata };
}
