import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildDescriptorSet, contractOf, diffContracts, type WireContract } from './descriptor-contract';

const PROTO_ROOT = path.resolve(__dirname, '../../proto');
const SESSIONS = 'catsyphon/telemetry/v1/sessions.proto';
/**
 * The reviewed copy of the team's wire contract (shared/wire-contract.json),
 * committed with the project so that a clone tests itself. The contract is
 * fixed: this file never changes, and neither may sessions.proto.
 */
const CONTRACT_FILE = path.resolve(__dirname, 'wire-contract.json');
const PACKAGE = 'catsyphon.telemetry.v1';

const contract: WireContract = JSON.parse(readFileSync(CONTRACT_FILE, 'utf8'));

/** Builds a copy of proto/ whose sessions.proto went through `edit`. */
function contractOfEdited(edit: (source: string) => string): WireContract {
  const dir = mkdtempSync(path.join(tmpdir(), 'proto-'));
  try {
    cpSync(PROTO_ROOT, dir, { recursive: true });
    const file = path.join(dir, SESSIONS);
    const before = readFileSync(file, 'utf8');
    const after = edit(before);
    expect(after).not.toBe(before);
    writeFileSync(file, after);
    return contractOf(buildDescriptorSet(dir), PACKAGE);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('wire contract (test/contract/wire-contract.json)', () => {
  test('sessions.proto compiles to exactly the contract, in both directions', () => {
    const actual = contractOf(buildDescriptorSet(PROTO_ROOT), PACKAGE);
    expect(Object.keys(actual.messages)).toHaveLength(19);
    expect(Object.keys(actual.enums)).toHaveLength(10);
    expect(diffContracts(contract, actual)).toEqual([]);
    expect(diffContracts(actual, contract)).toEqual([]);
  });

  test('nothing beyond the contract lives in catsyphon.telemetry.v1', () => {
    const set = buildDescriptorSet(PROTO_ROOT);
    const files = set.file.filter((f: any) => f.package === PACKAGE).map((f: any) => f.name);
    expect(files).toEqual([SESSIONS]);
  });

  test.each([
    ['a changed field number', (s: string) => s.replace('int32 seq = 1;', 'int32 seq = 14;'), 'Message'],
    ['a changed field type', (s: string) => s.replace('int64 emitted_at_ns = 6;', 'int32 emitted_at_ns = 6;'), 'Message #6 type'],
    ['a changed field name', (s: string) => s.replace('string batch_id = 2;', 'string batch_key = 2;'), 'ExportSessionsRequest #2 name'],
    ['a dropped proto3 optional', (s: string) => s.replace('optional string email = 2;', 'string email = 2;'), 'Developer #2 proto3_optional'],
    ['a changed enum value', (s: string) => s.replace('ASSISTANT_CURSOR = 4;', 'ASSISTANT_CURSOR = 5;'), 'enum Assistant.ASSISTANT_CURSOR'],
    ['an added field', (s: string) => s.replace('string field = 3;', 'string field = 3;\n  string extra = 4;'), 'Error.extra (#4): not in the contract'],
    ['a repeated field made singular', (s: string) => s.replace('repeated Plan plans = 10;', 'Plan plans = 10;'), 'Session #10 label'],
    ['a changed RPC', (s: string) => s.replace('rpc ExportSessionsStream(stream SessionBatch)', 'rpc ExportSessionsStream(SessionBatch)'), 'service SessionIngestion'],
  ])('the check catches %s', (_what, edit, expectedDiff) => {
    const diffs = diffContracts(contract, contractOfEdited(edit));
    expect(diffs.length).toBeGreaterThan(0);
    expect(diffs.join('\n')).toContain(expectedDiff);
  });
});
