import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { POSTGRES_BIN } from './requirements';

const BIN = POSTGRES_BIN;

/**
 * A throw-away PostgreSQL cluster that a test may stop and start (never the
 * shared server on 5432). Runs as the postgres user, as TOOLCHAIN.md says.
 */
export class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async create(): Promise<PrivatePostgres> {
    const dir = mkdtempSync(path.join(tmpdir(), 'cs-pg-'));
    const { uid, gid } = postgresIds();
    chownSync(dir, uid, gid);
    asPostgres(`${BIN}/initdb`, ['-D', `${dir}/data`, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    const cluster = new PrivatePostgres(dir, await freePort());
    cluster.start();
    return cluster;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Synchronous on purpose: a test can stop the database between two writes of a stream. */
  start(): void {
    asPostgres(`${BIN}/pg_ctl`, [
      '-D', `${this.dir}/data`,
      '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      '-l', `${this.dir}/log`,
      '-w', 'start',
    ]);
  }

  stop(): void {
    asPostgres(`${BIN}/pg_ctl`, ['-D', `${this.dir}/data`, '-m', 'fast', '-w', 'stop']);
  }

  destroy(): void {
    try {
      this.stop();
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function asPostgres(command: string, args: string[]): void {
  execFileSync('runuser', ['-u', 'postgres', '--', command, ...args], { stdio: 'pipe' });
}

function postgresIds(): { uid: number; gid: number } {
  const [uid, gid] = execFileSync('id', ['-u', 'postgres']).toString().trim().split('\n').concat(
    execFileSync('id', ['-g', 'postgres']).toString().trim(),
  );
  return { uid: Number(uid), gid: Number(gid) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
