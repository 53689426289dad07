import * as grpc from '@grpc/grpc-js';
import { sql } from 'kysely';
import {
  ErrorCode,
  ExportSessionsResponse,
  SessionStatus,
} from '../../generated/catsyphon/telemetry/v1/sessions';
import { FakeAuthenticator } from '../helpers/fake-auth';
import { type FuzzInput, FuzzInputs } from '../helpers/fuzz-inputs';
import { bearer, exportOutcome, request } from '../helpers/protect-client';
import { Rng, SessionGenerator } from '../helpers/session-gen';
import { startTestApp, type TestApp } from '../helpers/test-app';

const INPUTS = 10_000;
const SEED = 0x5eed;
const CONCURRENCY = 16;
const EXPORT = '/catsyphon.telemetry.v1.SessionIngestion/ExportSessions';
const STREAM = '/catsyphon.telemetry.v1.SessionIngestion/ExportSessionsStream';

/** Statuses that tell the client clearly what was wrong with its request. */
const CLEAR = new Set([
  grpc.status.OK,
  grpc.status.INVALID_ARGUMENT,
  grpc.status.RESOURCE_EXHAUSTED, // over the receive size limit
  grpc.status.ALREADY_EXISTS, // a batch_id reused with another payload
  grpc.status.FAILED_PRECONDITION,
  grpc.status.ABORTED, // the same batch_id in progress
]);

const identity = (b: Buffer) => b;

describe('hostile input: fuzzing the ingestion RPCs with raw bytes', () => {
  let t: TestApp;
  let raw: grpc.Client;
  const auth = new FakeAuthenticator();

  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_REQUESTS_PER_MIN: '0', RATE_LIMIT_MESSAGES_PER_MIN: '0', LOG_LEVEL: 'warn' }, { authenticator: auth });
    raw = new grpc.Client(t.address, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    raw.close();
    await t.close();
  });

  test(`${INPUTS} inputs (seed ${SEED}): every one gets a clear status, the server stays up, stored data is unchanged`, async () => {
    // Data stored before the run, in its own workspace.
    const owner = await auth.seedCaller(t.app.database.db, 'owner');
    const gen = new SessionGenerator(new Rng(7));
    const stored = await exportOutcome(
      t.ingestion,
      request('before-fuzz', [gen.session(2), gen.session(2), gen.session(1)]),
      bearer(owner.token),
    );
    expect(stored.code).toBe(grpc.status.OK);
    const digestBefore = await workspaceDigest(t, owner.caller.workspaceId);

    const fuzzer = await auth.seedCaller(t.app.database.db, 'fuzzer');
    const md = bearer(fuzzer.token);
    const inputs = new FuzzInputs(new Rng(SEED));
    const tally = new Map<string, number>();
    const unclear: string[] = [];
    let failedSessions = 0;

    let next = 0;
    const worker = async () => {
      while (next < INPUTS) {
        const i = next++;
        const input = inputs.next(i);
        const streamed = i % 10 === 9;
        const result = streamed ? await callStream(raw, input, md) : await callUnary(raw, input, md);
        const key = `${streamed ? 'stream' : 'unary'} ${input.kind}: ${grpc.status[result.code]}`;
        tally.set(key, (tally.get(key) ?? 0) + 1);
        if (!CLEAR.has(result.code)) unclear.push(`#${i} ${key} (${result.details})`);
        if (result.response) {
          const response = ExportSessionsResponse.decode(result.response);
          for (const r of response.results) {
            if (r.status !== SessionStatus.SESSION_STATUS_FAILED) continue;
            failedSessions++;
            if (r.error?.code !== ErrorCode.ERROR_CODE_VALIDATION) unclear.push(`#${i} ${key}: session ${r.error?.code}`);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    expect(unclear).toEqual([]);
    expect([...tally.values()].reduce((a, b) => a + b, 0)).toBe(INPUTS);
    // The fuzzer exercised each path: undecodable requests and per-session validation failures.
    expect([...tally.keys()].some((k) => k.endsWith('INVALID_ARGUMENT'))).toBe(true);
    expect(failedSessions).toBeGreaterThan(0);
    // No bug surfaced as INTERNAL (logged as "unexpected error").
    expect(t.logs.text()).not.toContain('unexpected error');

    // Still up, still serving, and nothing stored earlier changed.
    expect(await t.health()).toBe('SERVING');
    expect(await workspaceDigest(t, owner.caller.workspaceId)).toBe(digestBefore);
    const after = await exportOutcome(t.ingestion, request('after-fuzz', [gen.session(1)]), bearer(owner.token));
    expect(after.code).toBe(grpc.status.OK);
    // The count is fixed and the inputs seeded, so the run is bounded; the limit only guards
    // against a hang (2,000 inputs took 46 s on a 2-core machine at load average 20).
  }, 600_000);
});

interface RawOutcome {
  code: grpc.status;
  details: string;
  response?: Buffer;
}

function callUnary(client: grpc.Client, input: FuzzInput, md: grpc.Metadata): Promise<RawOutcome> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(EXPORT, identity, identity, input.bytes, md, (err, response) =>
      resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '', response }),
    );
  });
}

/** Sends the input as the second chunk of a stream, after an empty valid chunk. */
function callStream(client: grpc.Client, input: FuzzInput, md: grpc.Metadata): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const call = client.makeClientStreamRequest(STREAM, identity, identity, md, (err, response) =>
      resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '', response }),
    );
    call.on('error', () => undefined);
    call.write(Buffer.alloc(0));
    call.write(input.bytes);
    call.end();
  });
}

/** A digest of every row the workspace owns, in every table. */
async function workspaceDigest(t: TestApp, workspaceId: string): Promise<string> {
  const db = t.app.database.db;
  const sessions = sql`(SELECT id FROM sessions WHERE workspace_id = ${workspaceId})`;
  const queries = {
    sessions: sql`SELECT s::text AS row FROM sessions s WHERE workspace_id = ${workspaceId}`,
    threads: sql`SELECT x::text AS row FROM threads x WHERE session_id IN ${sessions}`,
    messages: sql`SELECT x::text AS row FROM messages x WHERE session_id IN ${sessions}`,
    files: sql`SELECT x::text AS row FROM files_touched x WHERE session_id IN ${sessions}`,
    plans: sql`SELECT x::text AS row FROM plans x WHERE session_id IN ${sessions}`,
    batches: sql`SELECT x::text AS row FROM ingest_batches x WHERE workspace_id = ${workspaceId}`,
    projects: sql`SELECT x::text AS row FROM projects x WHERE workspace_id = ${workspaceId}`,
    developers: sql`SELECT x::text AS row FROM developers x WHERE workspace_id = ${workspaceId}`,
  };
  const parts: string[] = [];
  for (const [name, query] of Object.entries(queries)) {
    const rows = (await (query as ReturnType<typeof sql<{ row: string }>>).execute(db)).rows.map((r) => r.row).sort();
    expect(name === 'sessions' ? rows.length : 1).toBeGreaterThan(0);
    parts.push(`${name}:${rows.length}:${rows.join('\n')}`);
  }
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(parts.join('\n--\n')).digest('hex');
}
