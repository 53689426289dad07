import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { TranscriptFile } from './claude-code/jsonl.reader';

/**
 * Remembers when each line of each transcript was first read, so that
 * `observed_at_ns` is the true first parse time of a line and stays the
 * same on every later parse. Transcripts are append-only, so a file's
 * history is a list of ranges: "lines [prev, end) were first seen at t".
 * A file that shrank or whose first line changed starts over.
 */
export interface LedgerData {
  version: 1;
  files: Record<string, { head: string; ranges: Array<[end: number, observedAtNs: string]> }>;
}

export class ObservationLedger {
  private dirty = false;

  constructor(
    private readonly data: LedgerData = { version: 1, files: {} },
    private readonly path?: string,
  ) {}

  /** Loads the ledger file; a missing or unreadable file gives an empty ledger. */
  static async load(path: string): Promise<{ ledger: ObservationLedger; warning?: string }> {
    try {
      const data = JSON.parse(await readFile(path, 'utf8')) as LedgerData;
      if (data?.version !== 1 || typeof data.files !== 'object') throw new Error('unknown format');
      return { ledger: new ObservationLedger(data, path) };
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      return {
        ledger: new ObservationLedger(undefined, path),
        ...(missing ? {} : { warning: `ignoring state file ${path}: ${(err as Error).message}` }),
      };
    }
  }

  /** Records this read of `file` at `nowNs`; returns the first-observed time of each line. */
  observe(file: TranscriptFile, nowNs: bigint): (lineIndex: number) => bigint {
    const key = resolve(file.path);
    const head = createHash('sha256').update(file.head).digest('hex');
    let record = this.data.files[key];
    const seen = record?.ranges.at(-1)?.[0] ?? 0;
    if (!record || record.head !== head || seen > file.completeLines) {
      record = { head, ranges: [] };
      this.data.files[key] = record;
      this.dirty = true;
    }
    if (file.completeLines > (record.ranges.at(-1)?.[0] ?? 0)) {
      record.ranges.push([file.completeLines, nowNs.toString()]);
      this.dirty = true;
    }
    const ranges = record.ranges.map(([end, ns]) => [end, BigInt(ns)] as const);
    return (lineIndex) => ranges.find(([end]) => lineIndex < end)?.[1] ?? nowNs;
  }

  /** Writes the ledger back (atomically) when it changed and has a path. */
  async save(): Promise<void> {
    if (!this.path || !this.dirty) return;
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(this.data));
    await rename(tmp, this.path);
    this.dirty = false;
  }
}
