import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * PGlite does not lock its data directory: two processes opening it at once
 * both succeed and corrupt it. Every process that opens the embedded
 * database therefore holds this lock file first. It names the holder, so a
 * second process can say who is using the directory; a lock left behind by a
 * process that died is taken over.
 */
export const LOCK_FILE = 'catsyphon-ingest.lock';

export interface LockHolder {
  readonly pid: number;
  /** What the holder runs: `serve`, `collector create`, ... */
  readonly role: string;
  readonly startedAt: string;
  readonly token: string;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `the embedded database in ${dataDir} is in use by process ${holder.pid} (catsyphon-ingest ${holder.role}, since ${holder.startedAt})`,
    );
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  readonly holder: LockHolder;
  release(): void;
}

export function lockFilePath(dataDir: string): string {
  return path.join(dataDir, LOCK_FILE);
}

/** Lock files this process holds: a lock naming our own pid is ours only if listed here. */
const heldHere = new Set<string>();

/** The current holder of a data directory's lock, when a live process holds it. */
export function readLiveHolder(dataDir: string): LockHolder | undefined {
  const holder = readHolder(lockFilePath(dataDir));
  return holder && isAlive(holder.pid) ? holder : undefined;
}

/** Takes the lock or throws DataDirLockedError naming the live holder. */
export function acquireDataDirLock(dataDir: string, role: string): DataDirLock {
  const file = lockFilePath(dataDir);
  const holder: LockHolder = {
    pid: process.pid,
    role,
    startedAt: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    // Written aside, then hard-linked into place: the link fails if a lock
    // exists, and a reader never sees a half-written file.
    const draft = `${file}.new-${holder.token}`;
    writeFileSync(draft, JSON.stringify(holder), { mode: 0o600 });
    try {
      linkSync(draft, file);
      heldHere.add(path.resolve(file));
      return {
        holder,
        release: () => {
          heldHere.delete(path.resolve(file));
          releaseIfOurs(file, holder.token);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(draft);
    }
    const current = readHolder(file);
    // Our own pid in a lock we do not hold is a leftover of an earlier
    // process that had the same pid (containers often run as pid 1).
    const ours = current?.pid === process.pid;
    if (current && (ours ? heldHere.has(path.resolve(file)) : isAlive(current.pid))) {
      throw new DataDirLockedError(dataDir, current);
    }
    // Stale (its process is gone) or unreadable: move it aside atomically,
    // so two processes taking over at once cannot both delete a fresh lock.
    const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      renameSync(file, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const moved = readHolder(aside);
    if (moved && current && moved.token !== current.token && isAlive(moved.pid)) {
      // Someone took the lock between our read and the rename: give it back.
      renameSync(aside, file);
      throw new DataDirLockedError(dataDir, moved);
    }
    unlinkSync(aside);
  }
  throw new Error(`could not take the lock ${file}`);
}

function releaseIfOurs(file: string, token: string): void {
  if (readHolder(file)?.token !== token) return;
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    if (typeof value.pid !== 'number' || typeof value.token !== 'string') return undefined;
    return { pid: value.pid, role: String(value.role ?? 'unknown'), startedAt: String(value.startedAt ?? ''), token: value.token };
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
