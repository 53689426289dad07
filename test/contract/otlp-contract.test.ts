import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildDescriptorSet } from './descriptor-contract';

/**
 * The vendored OTLP protos (proto/opentelemetry/**) against the facts of
 * opentelemetry-proto v1.11.0, copied into the repository as
 * test/contract/otlp-contract.json: every message, field (name, number,
 * type, label, json name, oneof), reserved number, enum value and service.
 */
const PROTO_ROOT = path.resolve(__dirname, '../../proto');
const CONTRACT = JSON.parse(readFileSync(path.join(__dirname, 'otlp-contract.json'), 'utf8')) as OtlpContract;

interface OtlpField {
  name: string;
  number: number;
  label: string;
  type: string;
  type_name: string;
  json_name: string;
  oneof?: string;
}
interface OtlpMessage {
  fields: OtlpField[];
  reserved_numbers?: Array<[number, number]>;
}
interface OtlpMethod {
  name: string;
  input: string;
  output: string;
  client_streaming: boolean;
  server_streaming: boolean;
}
interface OtlpFile {
  file: string;
  package: string;
  messages?: Record<string, OtlpMessage>;
  enums?: Record<string, Record<string, number>>;
  services?: Record<string, OtlpMethod[]>;
  note?: string;
}
interface OtlpContract {
  source: string;
  files: OtlpFile[];
}

const TYPE_NAMES: Record<number, string> = {
  1: 'double', 2: 'float', 3: 'int64', 4: 'uint64', 5: 'int32', 6: 'fixed64', 7: 'fixed32', 8: 'bool',
  9: 'string', 10: 'group', 11: 'message', 12: 'bytes', 13: 'uint32', 14: 'enum', 15: 'sfixed32',
  16: 'sfixed64', 17: 'sint32', 18: 'sint64',
};
const LABELS: Record<number, string> = { 1: 'optional', 2: 'required', 3: 'repeated' };

/** The contract's view of one compiled file. */
function factsOf(file: any): Omit<OtlpFile, 'note'> {
  const messages: Record<string, OtlpMessage> = {};
  for (const m of file.messageType ?? []) {
    const fields: OtlpField[] = (m.field ?? []).map((f: any) => {
      const out: OtlpField = {
        name: f.name,
        number: f.number,
        label: LABELS[f.label],
        type: TYPE_NAMES[f.type],
        type_name: f.typeName ?? '',
        json_name: f.jsonName,
      };
      // protobufjs reads absent scalars as defaults: only an own property was on the wire.
      if (Object.prototype.hasOwnProperty.call(f, 'oneofIndex')) out.oneof = m.oneofDecl[f.oneofIndex].name;
      return out;
    });
    const reserved = (m.reservedRange ?? []).map((r: any) => [r.start, r.end - 1] as [number, number]);
    messages[m.name] = reserved.length > 0 ? { fields, reserved_numbers: reserved } : { fields };
  }
  const enums: Record<string, Record<string, number>> = {};
  for (const e of file.enumType ?? []) {
    enums[e.name] = Object.fromEntries((e.value ?? []).map((v: any) => [v.name, v.number ?? 0]));
  }
  const services: Record<string, OtlpMethod[]> = {};
  for (const s of file.service ?? []) {
    services[s.name] = (s.method ?? []).map((m: any) => ({
      name: m.name,
      input: m.inputType,
      output: m.outputType,
      client_streaming: !!m.clientStreaming,
      server_streaming: !!m.serverStreaming,
    }));
  }
  const out: Omit<OtlpFile, 'note'> = { file: file.name, package: file.package };
  if (Object.keys(messages).length > 0) out.messages = messages;
  if (Object.keys(enums).length > 0) out.enums = enums;
  if (Object.keys(services).length > 0) out.services = services;
  return out;
}

describe('OTLP protos (test/contract/otlp-contract.json, opentelemetry-proto v1.11.0)', () => {
  const set = buildDescriptorSet(PROTO_ROOT);
  const compiled = new Map<string, any>(set.file.map((f: any) => [f.name, f]));
  const hasMessages = (f: OtlpFile) => Object.keys(f.messages ?? {}).length > 0;
  const vendored = CONTRACT.files.filter(hasMessages);
  const serviceOnly = CONTRACT.files.filter((f) => !hasMessages(f));

  test('the contract copy is the v1.11.0 one', () => {
    expect(CONTRACT.source).toContain('v1.11.0');
    expect(vendored.map((f) => f.file)).toEqual([
      'opentelemetry/proto/common/v1/common.proto',
      'opentelemetry/proto/resource/v1/resource.proto',
      'opentelemetry/proto/logs/v1/logs.proto',
      'opentelemetry/proto/collector/logs/v1/logs_service.proto',
    ]);
  });

  test.each(vendored.map((f) => [f.file, f] as const))('%s matches the contract exactly', (name, expected) => {
    const file = compiled.get(name);
    expect(file).toBeDefined();
    const { note: _note, ...facts } = expected;
    const nonEmpty = Object.fromEntries(Object.entries(facts).filter(([, v]) => !(typeof v === 'object' && Object.keys(v).length === 0)));
    expect(factsOf(file)).toEqual(nonEmpty);
  });

  test('LogRecord carries event_name (#12), which newer SDKs set', () => {
    const logs = factsOf(compiled.get('opentelemetry/proto/logs/v1/logs.proto'));
    const eventName = logs.messages?.LogRecord.fields.find((f) => f.number === 12);
    expect(eventName).toMatchObject({ name: 'event_name', type: 'string', json_name: 'eventName' });
  });

  test('no other opentelemetry file is vendored: metrics and trace services are answered without protos', () => {
    const ours = set.file.map((f: any) => f.name as string).filter((n: string) => n.startsWith('opentelemetry/'));
    expect(ours.sort()).toEqual(vendored.map((f) => f.file).sort());
    // The contract names these services only (no messages), so they cannot be declared without inventing wire content.
    expect(serviceOnly.map((f) => Object.keys(f.services ?? {})).flat()).toEqual(['MetricsService', 'TraceService']);
  });
});
