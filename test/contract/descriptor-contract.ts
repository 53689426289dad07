import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FileDescriptorSet } from 'protobufjs/ext/descriptor';

/** The shape of test/contract/wire-contract.json (the team's shared/wire-contract.json). */
export interface WireContract {
  package: string;
  enums: Record<string, Record<string, number>>;
  messages: Record<string, FieldContract[]>;
  services: Record<string, MethodContract[]>;
}
interface FieldContract {
  name: string;
  number: number;
  type: string;
  type_name: string;
  label: string;
  proto3_optional: boolean;
}
interface MethodContract {
  name: string;
  input: string;
  output: string;
  client_streaming: boolean;
  server_streaming: boolean;
}

const TYPE_NAMES: Record<number, string> = {
  1: 'double', 2: 'float', 3: 'int64', 4: 'uint64', 5: 'int32', 6: 'fixed64', 7: 'fixed32', 8: 'bool',
  9: 'string', 10: 'group', 11: 'message', 12: 'bytes', 13: 'uint32', 14: 'enum', 15: 'sfixed32',
  16: 'sfixed64', 17: 'sint32', 18: 'sint64',
};
const LABELS: Record<number, string> = { 1: 'optional', 2: 'required', 3: 'repeated' };

const BUF = path.resolve(__dirname, '../../node_modules/.bin/buf');

/** Compiles a proto module directory with buf into a FileDescriptorSet. */
export function buildDescriptorSet(protoRoot: string): any {
  const dir = mkdtempSync(path.join(tmpdir(), 'contract-'));
  try {
    const out = path.join(dir, 'set.binpb');
    execFileSync(BUF, ['build', protoRoot, '--as-file-descriptor-set', '-o', out], { stdio: 'pipe' });
    return FileDescriptorSet.decode(readFileSync(out));
  } catch (err) {
    throw new Error(`buf build failed: ${(err as { stderr?: Buffer }).stderr?.toString() ?? err}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Extracts the contract's view (top-level messages and enums, services) of one proto package. */
export function contractOf(set: any, pkg: string): WireContract {
  const out: WireContract = { package: pkg, enums: {}, messages: {}, services: {} };
  for (const file of set.file.filter((f: any) => f.package === pkg)) {
    for (const e of file.enumType ?? []) {
      out.enums[e.name] = Object.fromEntries((e.value ?? []).map((v: any) => [v.name, v.number ?? 0]));
    }
    for (const m of file.messageType ?? []) {
      out.messages[m.name] = (m.field ?? []).map((f: any) => ({
        label: LABELS[f.label],
        name: f.name,
        number: f.number,
        proto3_optional: !!f.proto3Optional,
        type: TYPE_NAMES[f.type],
        type_name: f.typeName ?? '',
      }));
    }
    for (const s of file.service ?? []) {
      out.services[s.name] = (s.method ?? []).map((m: any) => ({
        client_streaming: !!m.clientStreaming,
        input: m.inputType,
        name: m.name,
        output: m.outputType,
        server_streaming: !!m.serverStreaming,
      }));
    }
  }
  return out;
}

/** Every difference between two contracts, both directions, as readable lines. */
export function diffContracts(expected: WireContract, actual: WireContract): string[] {
  const diffs: string[] = [];
  if (expected.package !== actual.package) diffs.push(`package: ${expected.package} != ${actual.package}`);
  const compareKeys = (where: string, a: object, b: object) => {
    for (const k of Object.keys(a)) if (!(k in b)) diffs.push(`${where}${k}: missing from the proto`);
    for (const k of Object.keys(b)) if (!(k in a)) diffs.push(`${where}${k}: not in the contract`);
  };
  compareKeys('enum ', expected.enums, actual.enums);
  for (const [name, values] of Object.entries(expected.enums)) {
    const got = actual.enums[name];
    if (!got) continue;
    compareKeys(`enum ${name}.`, values, got);
    for (const [v, n] of Object.entries(values)) {
      if (v in got && got[v] !== n) diffs.push(`enum ${name}.${v}: number ${n} != ${got[v]}`);
    }
  }
  compareKeys('message ', expected.messages, actual.messages);
  for (const [name, fields] of Object.entries(expected.messages)) {
    const got = actual.messages[name];
    if (!got) continue;
    const byNumber = new Map(got.map((f) => [f.number, f]));
    for (const f of fields) {
      const g = byNumber.get(f.number);
      if (!g) {
        diffs.push(`${name}.${f.name} (#${f.number}): missing from the proto`);
        continue;
      }
      for (const key of ['name', 'type', 'type_name', 'label', 'proto3_optional'] as const) {
        if (f[key] !== g[key]) diffs.push(`${name} #${f.number} ${key}: ${f[key]} != ${g[key]}`);
      }
    }
    const expectedNumbers = new Set(fields.map((f) => f.number));
    for (const g of got) if (!expectedNumbers.has(g.number)) diffs.push(`${name}.${g.name} (#${g.number}): not in the contract`);
  }
  compareKeys('service ', expected.services, actual.services);
  for (const [name, methods] of Object.entries(expected.services)) {
    const got = actual.services[name];
    if (!got) continue;
    if (JSON.stringify(sortByName(methods)) !== JSON.stringify(sortByName(got))) {
      diffs.push(`service ${name}: ${JSON.stringify(sortByName(got))} != ${JSON.stringify(sortByName(methods))}`);
    }
  }
  return diffs;
}

const sortByName = (ms: MethodContract[]) =>
  [...ms].sort((a, b) => a.name.localeCompare(b.name)).map((m) => JSON.stringify(m, Object.keys(m).sort()));
