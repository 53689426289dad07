import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { acquireDataDirLock, DataDirLockedError, lockFilePath, readLiveHolder } from '../../src/db/data-dir-lock';

describe('data directory lock', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cs-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('one holder at a time, named in the error; released on release()', () => {
    const lock = acquireDataDirLock(dir, 'serve');
    expect(JSON.parse(readFileSync(lockFilePath(dir), 'utf8'))).toMatchObject({ pid: process.pid, role: 'serve' });
    expect(readLiveHolder(dir)?.role).toBe('serve');
    let error: unknown;
    try {
      acquireDataDirLock(dir, 'collector list');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DataDirLockedError);
    expect((error as Error).message).toMatch(new RegExp(`in use by process ${process.pid} \\(catsyphon-ingest serve`));
    lock.release();
    expect(existsSync(lockFilePath(dir))).toBe(false);
    acquireDataDirLock(dir, 'collector list').release();
  });

  test('a live process in another pid holds it; a dead one does not', async () => {
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      writeFileSync(lockFilePath(dir), JSON.stringify({ pid: sleeper.pid, role: 'serve', startedAt: 'x', token: 'a' }));
      expect(() => acquireDataDirLock(dir, 'migrate')).toThrow(DataDirLockedError);
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((resolve) => sleeper.once('exit', resolve));
    }
    expect(readLiveHolder(dir)).toBeUndefined();
    const lock = acquireDataDirLock(dir, 'migrate');
    expect(JSON.parse(readFileSync(lockFilePath(dir), 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  test('a leftover lock with our own pid (an earlier process with the same pid) or garbage is taken over', () => {
    writeFileSync(lockFilePath(dir), JSON.stringify({ pid: process.pid, role: 'serve', startedAt: 'x', token: 'old' }));
    const lock = acquireDataDirLock(dir, 'serve');
    expect(JSON.parse(readFileSync(lockFilePath(dir), 'utf8')).token).toBe(lock.holder.token);
    lock.release();
    writeFileSync(lockFilePath(dir), 'not json');
    acquireDataDirLock(dir, 'serve').release();
  });

  test('release does not remove a lock someone else holds now', () => {
    const lock = acquireDataDirLock(dir, 'serve');
    writeFileSync(lockFilePath(dir), JSON.stringify({ pid: process.pid, role: 'other', startedAt: 'x', token: 'theirs' }));
    lock.release();
    expect(JSON.parse(readFileSync(lockFilePath(dir), 'utf8')).token).toBe('theirs');
  });
});
