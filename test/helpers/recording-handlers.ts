import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../../src/db/schema';
import type { IngestionHandlers } from '../../src/grpc/services/session-ingestion.grpc';
import { ExportSessionsResponse } from '../../generated/catsyphon/telemetry/v1/sessions';

/**
 * Small fake export handlers for protection tests: each call that reaches a
 * handler writes one row (a workspace named after the batch) and is counted,
 * so a test can show that a refused request wrote nothing. An optional gate
 * holds every handler until opened, to keep calls in flight deterministically.
 */
export class RecordingHandlers {
  calls = 0;
  entered = 0;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  private enteredWaiters: Array<{ n: number; resolve: () => void }> = [];

  constructor(private readonly db: () => Kysely<DB>) {}

  /** Makes every handler wait until `open()`. */
  close(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  open(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  /** Resolves once `n` calls are inside a handler in total. */
  whenEntered(n: number): Promise<void> {
    if (this.entered >= n) return Promise.resolve();
    return new Promise((resolve) => this.enteredWaiters.push({ n, resolve }));
  }

  async rows(batchId: string): Promise<number> {
    const r = await this.db().selectFrom('workspaces').select(this.db().fn.countAll<string>().as('n')).where('name', '=', batchId).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  readonly handlers: IngestionHandlers = {
    exportSessions: async (request) => {
      await this.enter();
      await this.write(request.batchId);
      return ExportSessionsResponse.fromPartial({ batchId: request.batchId, status: 1 });
    },
    exportSessionsStream: async (stream, ctx) => {
      await this.enter();
      const batchId = String(ctx.metadata.get('x-batch-id')[0] ?? 'stream');
      let chunks = 0;
      for await (const _chunk of stream) {
        chunks++;
        await this.write(`${batchId}#${chunks}`);
      }
      return ExportSessionsResponse.fromPartial({ batchId, status: 1 });
    },
  };

  private async enter(): Promise<void> {
    this.entered++;
    for (const w of this.enteredWaiters.filter((x) => this.entered >= x.n)) w.resolve();
    this.enteredWaiters = this.enteredWaiters.filter((x) => this.entered < x.n);
    if (this.gate) await this.gate;
  }

  private async write(name: string): Promise<void> {
    this.calls++;
    await this.db().insertInto('workspaces').values({ name, slug: randomUUID() }).execute();
  }
}
