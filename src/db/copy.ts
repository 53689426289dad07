import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient, type Transaction } from 'kysely';
import type { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { isDatabaseUnavailable } from './errors';
import type { DB } from './schema';

/**
 * Streams a `COPY … FROM STDIN` payload on the connection of the current
 * transaction. `chunks` are the payload's bytes in order (for FORMAT binary:
 * header, tuples, trailer). Fails like any statement; the transaction (or
 * its savepoint) must then be rolled back.
 */
export type CopyIn = (copySql: string, chunks: readonly Buffer[]) => Promise<void>;

/**
 * Runs `work` in one transaction. `copy` is set where the driver can stream
 * COPY (PostgreSQL through pg); PGlite passes undefined and callers insert
 * row by row instead.
 */
export type TransactionRunner = <T>(work: (trx: Transaction<DB>, copy: CopyIn | undefined) => Promise<T>) => Promise<T>;

/** A Kysely handle bound to one pooled client; built once per client. */
const boundHandles = new WeakMap<PoolClient, Kysely<DB>>();

function boundTo(client: PoolClient): Kysely<DB> {
  let db = boundHandles.get(client);
  if (!db) {
    // Kysely acquires and releases this "pool" around the transaction; the
    // real client goes back to the real pool in postgresTransactions.
    const borrowed: PostgresPoolClient = { query: client.query.bind(client), release: () => undefined };
    const single: PostgresPool = { connect: async () => borrowed, end: async () => undefined };
    db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: single }) });
    boundHandles.set(client, db);
  }
  return db;
}

/**
 * Transactions on a pg pool that can COPY: Kysely's own transactions never
 * expose their connection, so the client is checked out here and Kysely
 * runs the transaction on it.
 */
export function postgresTransactions(pool: Pool): TransactionRunner {
  return async (work) => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      const copy: CopyIn = async (copySql, chunks) => {
        await pipeline(Readable.from(chunks, { objectMode: false }), client.query(copyFrom(copySql)));
      };
      return await boundTo(client).transaction().execute((trx) => work(trx, copy));
    } catch (err) {
      // A connection lost mid-transaction is not returned to the pool.
      if (isDatabaseUnavailable(err)) broken = err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      client.release(broken);
    }
  };
}

/** Transactions without COPY (PGlite). */
export function plainTransactions(db: Kysely<DB>): TransactionRunner {
  return (work) => db.transaction().execute((trx) => work(trx, undefined));
}
