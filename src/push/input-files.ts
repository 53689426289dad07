import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';

export interface InputFiles {
  /** proto3-JSON files: a Session, an array of Sessions, or an ExportSessionsRequest. */
  readonly json: string[];
  /** Claude Code JSONL transcripts. */
  readonly jsonl: string[];
  /** Paths that could not be read (they make the push fail). */
  readonly errors: string[];
}

/**
 * Expands the given paths: files are taken as they are (`.jsonl` is a
 * transcript, anything else proto3 JSON); directories are walked
 * recursively for `.json` and `.jsonl` files. Sorted, for stable runs.
 */
export async function findInputFiles(paths: readonly string[]): Promise<InputFiles> {
  const json = new Set<string>();
  const jsonl = new Set<string>();
  const errors: string[] = [];
  const add = (file: string) => (extname(file).toLowerCase() === '.jsonl' ? jsonl : json).add(file);
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && /\.jsonl?$/i.test(entry.name)) add(path);
    }
  };
  for (const path of paths) {
    try {
      if ((await stat(path)).isDirectory()) await walk(path);
      else add(path);
    } catch (err) {
      errors.push(`${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
    }
  }
  return { json: [...json].sort(), jsonl: [...jsonl].sort(), errors };
}
