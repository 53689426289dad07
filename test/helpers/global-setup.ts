import { Client } from 'pg';
import { POSTGRES_URL_ENV } from './requirements';

/** Where PostgreSQL-only tests look for a server when TEST_DATABASE_URL is not set. */
const LOCAL_DEFAULT = 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * Runs once before all test files: finds a PostgreSQL server for the tests
 * that need one whatever database the run uses (COPY, replicas, the bench).
 * TEST_DATABASE_URL wins; otherwise a server on the local default is used
 * when it answers within a second. The worker processes inherit the result.
 */
export default async function globalSetup(): Promise<void> {
  const candidate = process.env.TEST_DATABASE_URL || LOCAL_DEFAULT;
  const client = new Client({ connectionString: candidate, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    process.env[POSTGRES_URL_ENV] = candidate;
  } catch (err) {
    if (process.env.TEST_DATABASE_URL) {
      throw new Error(`TEST_DATABASE_URL is set but PostgreSQL does not answer there: ${(err as Error).message}`);
    }
    delete process.env[POSTGRES_URL_ENV];
  } finally {
    await client.end().catch(() => undefined);
  }
}
