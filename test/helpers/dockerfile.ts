import { readFileSync } from 'node:fs';

/** One Dockerfile instruction, continuation lines joined. */
export interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

export interface Stage {
  readonly name: string;
  readonly from: string;
  readonly instructions: readonly Instruction[];
}

/** A small Dockerfile reader: enough to replay and check our own Dockerfile. */
export function parseDockerfile(file: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push(`${pending}${line}`.trim());
    pending = '';
  }
  const stages: { name: string; from: string; instructions: Instruction[] }[] = [];
  for (const line of logical) {
    const space = line.indexOf(' ');
    const keyword = line.slice(0, space).toUpperCase();
    const args = line.slice(space + 1).trim();
    if (keyword === 'FROM') {
      const [from, , name] = args.split(/\s+/);
      stages.push({ name: name ?? String(stages.length), from, instructions: [] });
      continue;
    }
    stages.at(-1)?.instructions.push({ keyword, args });
  }
  return stages;
}

export const instructionsOf = (stage: Stage, keyword: string) =>
  stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

/** A COPY: `--from` stage (if any), sources and destination. */
export function parseCopy(args: string): { from: string | undefined; sources: string[]; dest: string } {
  const parts = args.split(/\s+/);
  const flags = parts.filter((p) => p.startsWith('--'));
  const paths = parts.filter((p) => !p.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: paths.slice(0, -1), dest: paths[paths.length - 1] };
}

/** Whether a path (relative, with /) is excluded by simple .dockerignore patterns. */
export function dockerIgnored(relPath: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => {
    if (!pattern.includes('*')) return relPath === pattern || relPath.startsWith(`${pattern}/`);
    const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
    return relPath.split('/').some((_, i, parts) => regex.test(parts.slice(i).join('/')) || regex.test(parts[i]));
  });
}

export function readDockerignore(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}
