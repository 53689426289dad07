import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTranscript } from '../../src/push/claude-code/jsonl.reader';
import { buildSessions } from '../../src/push/claude-code/session.builder';
import { ObservationLedger } from '../../src/push/observation-ledger';
import { Session } from '../../generated/catsyphon/telemetry/v1/sessions';

const FIXTURES = join(__dirname, '..', 'fixtures', 'claude-code');
const T1 = 1_800_000_000_000_000_000n;
const T2 = 1_800_000_100_000_000_000n;
const T3 = 1_800_000_200_000_000_000n;

describe('observed_at_ns: first read time per line, stable across re-parses', () => {
  let dir: string;
  let transcript: string;
  let state: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-'));
    transcript = join(dir, 'session.jsonl');
    state = join(dir, 'state', 'push-state.json');
    copyFileSync(join(FIXTURES, 'growing-part1.jsonl'), transcript);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function parseAt(nowNs: bigint): Promise<Session> {
    const { ledger } = await ObservationLedger.load(state);
    const { sessions } = buildSessions([readTranscript(transcript, readFileSync(transcript))], {
      observedAt: (f) => ledger.observe(f, nowNs),
    });
    await ledger.save();
    return sessions[0];
  }

  test('a re-parse gives the same session; a grown file keeps old times and appends seqs', async () => {
    const first = await parseAt(T1);
    expect(first.threads[0].messages.map((m) => [m.seq, m.observedAtNs])).toEqual([[1, T1], [2, T1]]);
    const again = await parseAt(T2);
    expect(Session.encode(again).finish()).toEqual(Session.encode(first).finish());

    appendFileSync(transcript, readFileSync(join(FIXTURES, 'growing-part2.jsonl.txt')));
    const grown = await parseAt(T3);
    expect(grown.threads[0].messages.map((m) => [m.seq, m.observedAtNs])).toEqual([[1, T1], [2, T1], [3, T3], [4, T3]]);
    expect(grown.threads[0].messages.slice(0, 2)).toEqual(first.threads[0].messages);
    expect(grown.lastActivityAtNs).toBeGreaterThan(first.lastActivityAtNs);
  });

  test('a half-written last line is observed when it is complete, not before', async () => {
    const part2 = readFileSync(join(FIXTURES, 'growing-part2.jsonl.txt'), 'utf8').split('\n')[0];
    appendFileSync(transcript, part2.slice(0, 50));
    const partial = await parseAt(T1);
    expect(partial.threads[0].messages).toHaveLength(2);
    appendFileSync(transcript, `${part2.slice(50)}\n`);
    const complete = await parseAt(T2);
    expect(complete.threads[0].messages.map((m) => m.observedAtNs)).toEqual([T1, T1, T2]);
  });

  test('a file replaced by another one (first line changed, or shorter) starts over', async () => {
    await parseAt(T1);
    writeFileSync(transcript, readFileSync(join(FIXTURES, 'minimal-session.jsonl')));
    const replaced = await parseAt(T2);
    expect(replaced.threads[0].messages.every((m) => m.observedAtNs === T2)).toBe(true);
  });

  test('an unreadable state file is ignored with a warning', async () => {
    writeFileSync(join(dir, 'bad.json'), '{ not json');
    const { ledger, warning } = await ObservationLedger.load(join(dir, 'bad.json'));
    expect(warning).toMatch(/ignoring state file/);
    const observed = ledger.observe(readTranscript(transcript, readFileSync(transcript)), T1);
    expect(observed(0)).toBe(T1);
  });

  test('without a ledger observed_at_ns equals emitted_at_ns', () => {
    const { sessions } = buildSessions([readTranscript(transcript, readFileSync(transcript))]);
    for (const m of sessions[0].threads[0].messages) expect(m.observedAtNs).toBe(m.emittedAtNs);
  });
});
