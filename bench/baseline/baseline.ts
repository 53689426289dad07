import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { processCpuSeconds } from '../proc-stats';
import { summarize, type LatencySummary } from '../stats';
import { generateTemplates, type WorkloadOptions } from '../workload';
import { encodeCopyBatch } from './copy-binary';
import { MESSAGE_COLUMNS, type PlacedSession, sessionRows, uuidText } from './message-rows';

export type BaselineMethod = 'copy' | 'insert';

export interface BaselineSpec {
  readonly url: string;
  readonly method: BaselineMethod;
  readonly workload: WorkloadOptions;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Rows per INSERT statement (1,000 by default; 18 parameters a row stay under 65,535). */
  readonly insertRows: number;
}

export interface BaselineResult {
  readonly method: BaselineMethod;
  readonly rows: number;
  readonly statements: number;
  readonly windowMs: number;
  readonly rowsPerS: number;
  /** Latency of one batch (one COPY, or the INSERT statements of one batch). */
  readonly latencyMs: LatencySummary;
  /** CPU seconds per 1,000 rows: the Node process and its PostgreSQL backend. */
  readonly nodeCpuSPer1k: number;
  readonly dbCpuSPer1k: number;
}

export const baselineTable = (method: BaselineMethod): string => `bench_${method}_messages`;

/** A copy of the messages table's shape (columns, defaults, primary key, indexes), without foreign keys. */
export async function createBaselineTables(client: Client): Promise<void> {
  for (const method of ['copy', 'insert'] as const) {
    await client.query(`CREATE TABLE ${baselineTable(method)} (LIKE messages INCLUDING ALL)`);
  }
}

/**
 * Writes the same rows the service stores, straight into PostgreSQL on one
 * connection: one binary COPY per batch, or multi-row INSERTs of `insertRows`
 * rows. Each batch commits on its own, as the service commits at least once
 * per batch.
 */
export async function runBaseline(spec: BaselineSpec): Promise<BaselineResult> {
  const templates = generateTemplates(spec.workload).map(sessionRows);
  const client = new Client({ connectionString: spec.url, application_name: `bench-baseline-${spec.method}` });
  await client.connect();
  try {
    const backendPid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const table = baselineTable(spec.method);
    let threadBase = 1n;
    let templateIndex = 0;
    const nextBatch = (): PlacedSession[] =>
      Array.from({ length: spec.workload.sessionsPerBatch }, () => {
        const placed = { rows: templates[templateIndex++ % templates.length], threadBase, sessionId: randomBytes(16) };
        threadBase += BigInt(spec.workload.threadsPerSession);
        return placed;
      });
    const write = spec.method === 'copy' ? copyWriter(client, table) : insertWriter(client, table, spec.insertRows);

    const deadlineWarm = performance.now() + spec.warmupMs;
    while (performance.now() < deadlineWarm) await write(nextBatch());

    const latencies: number[] = [];
    let rows = 0;
    let statements = 0;
    const node0 = process.cpuUsage();
    const db0 = processCpuSeconds(backendPid) ?? Number.NaN;
    const start = performance.now();
    const end = start + spec.durationMs;
    while (performance.now() < end) {
      const batch = nextBatch();
      const t0 = performance.now();
      statements += await write(batch);
      latencies.push(performance.now() - t0);
      rows += batch.reduce((n, s) => n + s.rows.length, 0);
    }
    const windowMs = performance.now() - start;
    const node = process.cpuUsage(node0);
    const db = (processCpuSeconds(backendPid) ?? Number.NaN) - db0;
    return {
      method: spec.method,
      rows,
      statements,
      windowMs,
      rowsPerS: (rows * 1000) / windowMs,
      latencyMs: summarize(latencies),
      nodeCpuSPer1k: ((node.user + node.system) / 1e6 / rows) * 1000,
      dbCpuSPer1k: (db / rows) * 1000,
    };
  } finally {
    await client.end();
  }
}

function copyWriter(client: Client, table: string) {
  const statement = `COPY ${table} (${MESSAGE_COLUMNS.join(', ')}) FROM STDIN (FORMAT binary)`;
  return async (batch: PlacedSession[]): Promise<number> => {
    await pipeline(Readable.from([encodeCopyBatch(batch)]), client.query(copyFrom(statement)));
    return 1;
  };
}

function insertWriter(client: Client, table: string, rowsPerStatement: number) {
  const width = MESSAGE_COLUMNS.length;
  const texts = new Map<number, string>();
  const statementFor = (n: number): string => {
    let text = texts.get(n);
    if (!text) {
      const tuples = Array.from({ length: n }, (_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(',')})`);
      text = `INSERT INTO ${table} (${MESSAGE_COLUMNS.join(', ')}) VALUES ${tuples.join(',')}`;
      texts.set(n, text);
    }
    return text;
  };
  return async (batch: PlacedSession[]): Promise<number> => {
    const flat: unknown[][] = [];
    for (const s of batch) {
      const sessionId = uuidText(s.sessionId);
      for (const r of s.rows) {
        flat.push([
          String(s.threadBase + BigInt(r.threadIndex)),
          r.seq,
          sessionId,
          r.authorRole,
          r.authorName?.toString() ?? null,
          r.messageType,
          r.content.toString(),
          null,
          String(r.emittedAtNs),
          String(r.observedAtNs),
          r.tokens?.[0] ?? null,
          r.tokens?.[1] ?? null,
          r.tokens?.[2] ?? null,
          r.tokens?.[3] ?? null,
          r.toolCalls.toString(),
          r.toolResult?.toString() ?? null,
          r.rawData,
          r.metadata.toString(),
        ]);
      }
    }
    let statements = 0;
    for (let i = 0; i < flat.length; i += rowsPerStatement) {
      const chunk = flat.slice(i, i + rowsPerStatement);
      await client.query(statementFor(chunk.length), chunk.flat());
      statements++;
    }
    return statements;
  };
}
