import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pino from 'pino';
import { loadConfig } from '../../src/config/config';
import { plainTransactions } from '../../src/db/copy';
import { type Database, openDatabase } from '../../src/db/database';
import { migrateToLatest } from '../../src/db/migrate';
import { ingestBatch } from '../../src/ingest/ingest.service';
import { encodeMessages } from '../../src/sessions/message.copy';
import { type Session, SessionStatus } from '../../generated/catsyphon/telemetry/v1/sessions';
import { FakeAuthenticator } from '../helpers/fake-auth';
import { Rng, SessionGenerator } from '../helpers/session-gen';
import { withAdmin } from '../helpers/test-database';
import { postgresAdminUrl, postgresServer, requires } from '../helpers/requirements';

/**
 * The bulk path writes messages with binary COPY on PostgreSQL. COPY exists
 * only there, so this test always uses a real PostgreSQL server
 * (TEST_DATABASE_URL, else the local default, as CI starts it for both runs;
 * skipped when there is none, see test/helpers/requirements.ts)
 * in a database of its own, and checks that COPY stores exactly the rows the
 * INSERT path stores.
 */
const gate = requires([postgresServer()]);
const ADMIN_URL = postgresAdminUrl() ?? '';
const logger = pino({ level: 'silent' });
const NIL_UUID = '00000000-0000-0000-0000-000000000000';

gate.describe('PostgreSQL-only paths: messages by binary COPY, connection settings', () => {
  const name = `cs_copy_${process.pid}_${randomBytes(4).toString('hex')}`;
  let database: Database;

  beforeAll(async () => {
    await withAdmin(ADMIN_URL, (c) => c.query(`CREATE DATABASE ${name}`));
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    const config = loadConfig({ DATABASE_URL: url.toString() });
    database = await openDatabase(config.database, logger);
    await migrateToLatest(database.db, logger);
  });
  afterAll(async () => {
    await database?.destroy();
    await withAdmin(ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  });

  test('stores the same rows as the INSERT path, NUL, emoji, large content and int64 extremes included', async () => {
    const { caller } = await new FakeAuthenticator().seedCaller(database.db);
    const limits = loadConfig({}).ingest.limits;
    const gen = new SessionGenerator(new Rng(42));
    const sessions: Session[] = Array.from({ length: 12 }, () => gen.session(3));
    const twins = sessions.map((s) => ({ ...s, id: `${s.id}-insert` }));

    let copiedOk = 0;
    const counting = ((work) =>
      database.transaction((trx, copy) =>
        work(trx, async (copySql, chunks) => {
          await copy?.(copySql, chunks);
          copiedOk++;
        }),
      )) as typeof database.transaction;
    const copied = await ingestBatch(counting, caller, sessions, { limits, logger });
    expect(copiedOk).toBe(1); // one COPY for the whole batch, and it succeeded (no fallback)
    const inserted = await ingestBatch(plainTransactions(database.db), caller, twins, { limits, logger });
    for (const outcome of [copied, inserted]) {
      expect(outcome.results.map((r) => r.status)).toEqual(sessions.map(() => SessionStatus.SESSION_STATUS_CREATED));
    }

    const all = sessions.flatMap((s) => s.threads.flatMap((t) => t.messages));
    expect(all.some((m) => m.content.includes('\u0000'))).toBe(true);
    expect(all.some((m) => m.content.includes('😀'))).toBe(true);
    const threads = sessions.flatMap((s) => s.threads.map((t) => ({ threadId: '1', sessionId: NIL_UUID, messages: t.messages })));
    expect(encodeMessages(threads).length).toBeGreaterThan(1); // the payload spans several chunks
    for (const [i, s] of sessions.entries()) {
      const viaCopy = await messageRows(copied.results[i].catsyphonId);
      const viaInsert = await messageRows(inserted.results[i].catsyphonId);
      expect(viaCopy.length).toBe(s.threads.reduce((n, t) => n + t.messages.length, 0));
      expect(viaCopy).toEqual(viaInsert);
    }
  });

  test('a failing COPY rolls back to the savepoint and the batch is stored by the per-session path', async () => {
    const { caller } = await new FakeAuthenticator().seedCaller(database.db);
    const limits = loadConfig({}).ingest.limits;
    const gen = new SessionGenerator(new Rng(7));
    const sessions = Array.from({ length: 3 }, () => gen.session(2));
    let copies = 0;
    const failingCopy = ((work) =>
      database.transaction((trx, copy) =>
        work(trx, async (copySql, chunks) => {
          copies++;
          // Corrupt the payload: PostgreSQL rejects the COPY and aborts the savepoint.
          await copy?.(copySql, [chunks[0].subarray(0, 40)]);
        }),
      )) as typeof database.transaction;
    const outcome = await ingestBatch(failingCopy, caller, sessions, { limits, logger });
    expect(copies).toBe(1);
    expect(outcome.results.map((r) => r.status)).toEqual(sessions.map(() => SessionStatus.SESSION_STATUS_CREATED));
    for (const [i, s] of sessions.entries()) {
      const rows = await messageRows(outcome.results[i].catsyphonId);
      expect(rows.length).toBe(s.threads.reduce((n, t) => n + t.messages.length, 0));
    }
  });

  test('the service\'s connections run without JIT, inside the COPY transaction runner too', async () => {
    const jit = async (db: typeof database.db) => (await sql<{ jit: string }>`SHOW jit`.execute(db)).rows[0].jit;
    expect(await jit(database.db)).toBe('off');
    expect(await database.transaction((trx) => jit(trx))).toBe('off');
  });

  test('the payload is framed as PostgreSQL binary COPY expects', () => {
    const chunks = encodeMessages([]);
    const payload = Buffer.concat(chunks);
    expect(payload.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
    expect(payload.length).toBe(11 + 4 + 4 + 2); // signature, flags, extension length, trailer
    expect(payload.readInt16BE(payload.length - 2)).toBe(-1);
  });

  /** Message rows without the ids that differ between the two sessions. */
  function messageRows(sessionId: string) {
    return database.db
      .selectFrom('messages as m')
      .innerJoin('threads as t', 't.id', 'm.thread_id')
      .select([
        't.source_thread_id',
        'm.seq',
        'm.author_role',
        'm.author_name',
        'm.message_type',
        'm.content',
        'm.content_bin',
        'm.emitted_at_ns',
        'm.observed_at_ns',
        'm.input_tokens',
        'm.output_tokens',
        'm.cache_creation_tokens',
        'm.cache_read_tokens',
        sql<string>`m.tool_calls::text`.as('tool_calls'),
        sql<string>`m.tool_result::text`.as('tool_result'),
        'm.raw_data',
        sql<string>`m.metadata::text`.as('metadata'),
      ])
      .where('m.session_id', '=', sessionId)
      .orderBy('t.source_thread_id')
      .orderBy('m.seq')
      .execute();
  }
});
