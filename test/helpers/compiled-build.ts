import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { dockerIgnored, readDockerignore } from './dockerfile';

const repo = path.resolve(__dirname, '..', '..');
const run = promisify(execFile);

/**
 * The Dockerfile's builder stage, shared by the tests that run the compiled
 * server as child processes: the build context (git's file list minus
 * .dockerignore) is copied to a temp dir and compiled with `npm run build`.
 * The repo's node_modules stands in for the builder's own `npm install`.
 *
 * The result is keyed by a hash of the copied files, so test files in other
 * jest workers reuse one build (a mkdir lock keeps them from racing), and a
 * stale `dist/` in the worktree is never what gets tested.
 */
export async function compiledBuild(): Promise<string> {
  const ignore = readDockerignore(path.join(repo, '.dockerignore'));
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: repo })
    .toString()
    .split('\n')
    .filter((f) => f !== '' && existsSync(path.join(repo, f)) && statSync(path.join(repo, f)).isFile())
    .filter((f) => !dockerIgnored(f, ignore))
    .sort();
  const hash = createHash('sha256');
  for (const f of files) hash.update(f).update('\0').update(readFileSync(path.join(repo, f))).update('\0');
  const dir = path.join(tmpdir(), `catsyphon-build-${hash.digest('hex').slice(0, 16)}`);
  const done = path.join(dir, '.complete');
  if (existsSync(done)) return dir;

  const lock = `${dir}.lock`;
  for (let waited = 0; ; waited += 500) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(done)) return dir;
      // A build killed half-way leaves its lock behind; builds take a minute or two.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 600_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      if (waited > 300_000) throw new Error(`timed out waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    if (existsSync(done)) return dir;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    for (const f of files) cpSync(path.join(repo, f), path.join(dir, f));
    symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'));
    await run('npm', ['run', 'build'], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir } });
    writeFileSync(done, new Date().toISOString());
    removeOldBuilds(dir);
    return dir;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Builds from earlier sources, a day old or more. */
function removeOldBuilds(keep: string): void {
  for (const name of readdirSync(tmpdir())) {
    const full = path.join(tmpdir(), name);
    if (!name.startsWith('catsyphon-build-') || full === keep || name.endsWith('.lock')) continue;
    try {
      if (Date.now() - statSync(full).mtimeMs > 86_400_000) rmSync(full, { recursive: true, force: true });
    } catch {
      // another run removed it
    }
  }
}
