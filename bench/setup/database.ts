import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** A fresh PostgreSQL database for one bench run, dropped by `drop()`. */
export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, application_name: 'bench-admin' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createBenchDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `cs_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      if (dropped) return;
      dropped = true;
      await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** PIDs of the PostgreSQL backends serving `database`, except the asking connection. */
export async function backendPids(client: Client, database: string): Promise<number[]> {
  const res = await client.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = $2',
    [database, 'client backend'],
  );
  return res.rows.map((r) => r.pid);
}

export async function serverVersion(client: Client): Promise<string> {
  return (await client.query<{ server_version: string }>('SHOW server_version')).rows[0].server_version.split(' ')[0];
}
