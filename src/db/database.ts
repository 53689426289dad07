import { mkdirSync } from 'node:fs';
import { PGlite, types as pgliteTypes } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import { Pool, types as pgTypes } from 'pg';
import type { Config } from '../config/config';
import type { Logger } from '../logging/logger';
import { type CopyIn, plainTransactions, postgresTransactions, type TransactionRunner } from './copy';
import { acquireDataDirLock } from './data-dir-lock';
import type { DB } from './schema';

export type DatabaseKind = 'postgres' | 'pglite';
export type { CopyIn, TransactionRunner };

/** An open database: the Kysely handle plus what the server needs around it. */
export interface Database {
  readonly db: Kysely<DB>;
  readonly kind: DatabaseKind;
  /** A transaction that may also stream COPY (PostgreSQL only); ingestion's bulk path uses it. */
  readonly transaction: TransactionRunner;
  /** Connections in use and idle, for metrics; undefined for PGlite. */
  poolStats(): { total: number; idle: number; waiting: number } | undefined;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /** Closes every connection; safe to call twice. */
  destroy(): Promise<void>;
}

const INT8_OID = 20;
const parseInt8 = (value: string): bigint => BigInt(value);

/** Opens PostgreSQL when `url` is set, else the embedded PGlite under dataDir. */
export async function openDatabase(
  options: Config['database'],
  logger: Logger,
  /** Who opens it (`serve`, a CLI command): named by the embedded data directory's lock. */
  role = 'serve',
): Promise<Database> {
  return options.url ? openPostgres(options, logger) : openPglite(options.dataDir, logger, role);
}

function openPostgres(options: Config['database'], logger: Logger): Database {
  const pool = new Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs,
    statement_timeout: options.statementTimeoutMs || undefined,
    idleTimeoutMillis: 30_000,
    application_name: 'catsyphon-ingest',
    // Short OLTP statements only: JIT compiling one costs more than running it. With stale
    // statistics PostgreSQL's estimates crossed jit_above_cost and GetSessionStatus spent
    // 7 ms of its 8 in JIT (bench/README.md).
    options: '-c jit=off',
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID ? parseInt8 : pgTypes.getTypeParser(oid, format)) as typeof pgTypes.getTypeParser,
    },
  });
  // An idle client losing its connection (failover, restart) must not crash
  // the process; the pool replaces it on the next checkout.
  pool.on('error', (err) => logger.warn({ err: err.message }, 'idle database connection lost'));
  // A checked-out client (say, inside a transaction between two statements)
  // emits 'error' when the server goes away; without a listener that would
  // crash the process. The next statement on it fails and is mapped then.
  pool.on('connect', (client) =>
    client.on('error', (err) => logger.warn({ err: err.message }, 'database connection lost')),
  );
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  let destroyed = false;
  return {
    db,
    kind: 'postgres',
    transaction: postgresTransactions(pool),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    ping: async () => {
      await sql`SELECT 1`.execute(db);
    },
    destroy: async () => {
      if (destroyed) return;
      destroyed = true;
      await db.destroy();
    },
  };
}

async function openPglite(dataDir: string, logger: Logger, role: string): Promise<Database> {
  const inMemory = dataDir.startsWith('memory://');
  if (!inMemory) mkdirSync(dataDir, { recursive: true });
  // PGlite itself does not lock its directory; one process at a time (src/db/data-dir-lock.ts).
  const lock = inMemory ? undefined : acquireDataDirLock(dataDir, role);
  try {
    const pglite = await PGlite.create(inMemory ? undefined : dataDir, {
      parsers: { [pgliteTypes.INT8]: parseInt8 },
    });
    logger.info({ dataDir: inMemory ? 'memory' : dataDir }, 'embedded PGlite database opened');
    return fromPglite(pglite, () => lock?.release());
  } catch (err) {
    lock?.release();
    throw err;
  }
}

/** Wraps an open PGlite instance (used by the server and by tests). */
export function fromPglite(pglite: PGlite, onClosed: () => void = () => undefined): Database {
  const db = new Kysely<DB>({ dialect: new PGliteDialect(pglite) });
  let destroyed = false;
  return {
    db,
    kind: 'pglite',
    transaction: plainTransactions(db),
    poolStats: () => undefined,
    ping: async () => {
      await sql`SELECT 1`.execute(db);
    },
    destroy: async () => {
      if (destroyed) return;
      destroyed = true;
      try {
        await db.destroy();
        if (!pglite.closed) await pglite.close();
      } finally {
        onClosed();
      }
    },
  };
}
