import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import { serialize } from 'pg-protocol';
import { loadConfig } from '../../src/config/config';
import { openDatabase } from '../../src/db/database';
import type { DB } from '../../src/db/schema';
import { createHash } from 'node:crypto';
import { hashSessions } from '../../src/ingest/request-hash';
import { ingestBatch } from '../../src/ingest/ingest.service';
import { encodeMessages } from '../../src/sessions/message.copy';
import { messageRow, sessionFields, threadRow } from '../../src/sessions/session.mapper';
import { validateSession } from '../../src/ingest/session.validator';
import { createRootLogger } from '../../src/logging/logger';
import { ExportSessionsRequest, type Session } from '../../generated/catsyphon/telemetry/v1/sessions';
import { round } from '../stats';
import { encodeExportRequest, SessionTemplate } from '../wire';
import { generateTemplates, messagesPerBatch, type WorkloadOptions } from '../workload';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepareValue } = require('pg/lib/utils') as { prepareValue(v: unknown): unknown };

/**
 * Times the steps of one ExportSessions in-process, one batch at a time, and
 * keeps the fastest of `reps` runs: per-message costs that other load on the
 * machine barely disturbs. The service-side steps are the real functions of
 * src/ingest; `ingestBatch` runs against the bench database.
 */
export interface StagesSpec {
  readonly url: string;
  readonly workload: WorkloadOptions;
  readonly reps: number;
  readonly workspaceId: string;
  readonly collectorId: string;
}

export interface StageFigure {
  readonly stage: string;
  /** Fastest run, microseconds per message. */
  readonly usPerMsg: number;
  readonly medianUsPerMsg: number;
}

export const INGEST_BATCH_STAGE = 'ingestBatch on PostgreSQL (wall: validate, map, COPY, DB)';

const compiler = new Kysely<DB>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

/** What insertMessages sends (see src/sessions/message.repository.ts). */
function compileInsert(rows: ReturnType<typeof messageRow>[]) {
  return compiler
    .insertInto('messages')
    .values(rows)
    .onConflict((oc) => oc.columns(['thread_id', 'seq']).doNothing())
    .returning(['thread_id', 'seq'])
    .compile();
}

const NIL_UUID = '00000000-0000-0000-0000-000000000000';

export async function measureStages(spec: StagesSpec): Promise<StageFigure[]> {
  const templates = generateTemplates(spec.workload).map((s) => new SessionTemplate(s));
  const perBatch = messagesPerBatch(spec.workload);
  let counter = 0;
  const nextBytes = () =>
    encodeExportRequest(
      `stages-${counter}`,
      Array.from({ length: spec.workload.sessionsPerBatch }, () => {
        const n = counter++;
        return { template: templates[n % templates.length], id: `stages-${process.pid}-${n}` };
      }),
    );
  const config = loadConfig({ DATABASE_URL: spec.url, DB_POOL_SIZE: '2' });
  const logger = createRootLogger('warn');
  const database = await openDatabase(config.database, logger);
  const limits = config.ingest.limits;
  const times = new Map<string, number[]>();
  const record = (stage: string, ms: number) => times.set(stage, [...(times.get(stage) ?? []), ms]);
  const time = <T>(stage: string, fn: () => T): T => {
    const t0 = performance.now();
    const out = fn();
    record(stage, performance.now() - t0);
    return out;
  };
  const rowsOf = (sessions: Session[]) =>
    sessions.map((s) => s.threads.flatMap((t, i) => t.messages.map((m) => messageRow(NIL_UUID, String(i + 1), m))));
  const owner = { workspaceId: spec.workspaceId, collectorId: spec.collectorId };
  try {
    for (let rep = 0; rep < spec.reps + 1; rep++) {
      const bytes = nextBytes();
      const request = time('protobuf decode (grpc-js deserialize)', () => ExportSessionsRequest.decode(bytes));
      time('wire digest (sha256 of the request bytes; replays of cached batches only)', () => createHash('sha256').update(bytes).digest());
      time('request hash (hashSessions: re-encode + sha256)', () => hashSessions(request.sessions));
      time('validate (validateSession)', () => request.sessions.map((s, i) => validateSession(s, `sessions[${i}]`, limits)));
      time('map rows (sessionFields, threadRow)', () => {
        for (const s of request.sessions) {
          sessionFields(s);
          for (const t of s.threads) threadRow(NIL_UUID, t);
        }
      });
      time('binary COPY payload of the messages (encodeMessages)', () =>
        encodeMessages(
          request.sessions.flatMap((s) => s.threads.map((t, i) => ({ threadId: String(i + 1), sessionId: NIL_UUID, messages: t.messages }))),
        ),
      );
      // PGlite's bulk path (no COPY) maps each message to a row and sends them in statements of up to 1,000 rows.
      const all = time('PGlite path: message rows (messageRow)', () => rowsOf(request.sessions)).flat();
      const compiled = time('PGlite path: Kysely compile of the message INSERTs', () => {
        const out = [];
        for (let i = 0; i < all.length; i += 1000) out.push(compileInsert(all.slice(i, i + 1000)));
        return out;
      });
      time('PGlite path: pg prepareValue + Bind serialisation', () =>
        compiled.map((q) => serialize.bind({ values: q.parameters.map((v) => prepareValue(v)) as never[] })),
      );
      const t0 = performance.now();
      await ingestBatch(database.transaction, owner, request.sessions, { limits, logger });
      record(INGEST_BATCH_STAGE, performance.now() - t0);
    }
  } finally {
    await database.destroy();
  }
  return [...times.entries()].map(([stage, list]) => {
    const measured = list.slice(1).sort((a, b) => a - b); // the first run warms up the JIT
    return {
      stage,
      usPerMsg: round((measured[0] * 1000) / perBatch, 2),
      medianUsPerMsg: round((measured[Math.floor(measured.length / 2)] * 1000) / perBatch, 2),
    };
  });
}
