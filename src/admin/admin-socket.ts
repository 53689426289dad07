import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** Unix socket paths longer than this do not fit in sockaddr_un on every platform. */
const MAX_SOCKET_PATH = 100;

/**
 * Where a server holding the embedded database under `dataDir` serves the
 * admin API: `<DATA_DIR>/admin.sock`, or a per-directory name in the temp
 * directory when that path would be too long for a Unix socket.
 */
export function adminSocketPath(dataDir: string): string {
  const dir = path.resolve(dataDir);
  const inside = path.join(dir, 'admin.sock');
  if (inside.length <= MAX_SOCKET_PATH) return inside;
  const hash = createHash('sha256').update(dir).digest('hex').slice(0, 16);
  return path.join(tmpdir(), `catsyphon-ingest-${hash}.sock`);
}

/** True when the embedded database is on disk (so a server may share it). */
export function isOnDiskPglite(database: { url: string | undefined; dataDir: string }): boolean {
  return !database.url && !database.dataDir.startsWith('memory://');
}
