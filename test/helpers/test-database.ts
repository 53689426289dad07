import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * Where a test's database lives. With TEST_DATABASE_URL set (CI's second
 * run), a fresh PostgreSQL database is created for the caller and dropped by
 * `drop()`; otherwise the embedded PGlite runs in memory.
 */
export interface TestDatabase {
  /** Environment variables that point the config at this database. */
  readonly env: Record<string, string>;
  readonly kind: 'postgres' | 'pglite';
  readonly url: string | undefined;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    return { env: { DATA_DIR: 'memory://' }, kind: 'pglite', url: undefined, drop: async () => undefined };
  }
  const name = `cs_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString() },
    kind: 'postgres',
    url: url.toString(),
    drop: () => withAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

export async function withAdmin<T>(adminUrl: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
