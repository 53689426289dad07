import { isDatabaseUnavailable } from '../db/errors';
import { unavailable } from '../errors/domain-error';
import type { CallContext, ClientStreamHandler, UnaryHandler } from '../identity/call-context';
import type { Session } from '../../generated/catsyphon/telemetry/v1/sessions';
import type { Admission, Release } from './admission';
import type { CollectorRateLimiter } from './collector-rate-limiter';
import type { DatabaseHealth } from './database-health';

export interface IngestionGuardDeps {
  readonly rateLimiter: CollectorRateLimiter;
  readonly admission: Admission;
  /** When given, calls are refused at once while the database is unreachable. */
  readonly databaseHealth?: DatabaseHealth;
  /** The RetryInfo delay for UNAVAILABLE answers. */
  readonly retryDelayMs: number;
}

/** The number of messages in some sessions: what the messages/min limit and the buffer cap count. */
export function countMessages(sessions: readonly Session[]): number {
  let n = 0;
  for (const s of sessions) for (const t of s.threads) n += t.messages.length;
  return n;
}

/**
 * Wraps the ingestion handlers with the checks that must pass before any
 * database work: the database is reachable, the collector is within its rate
 * limits, and the buffered-message cap has room. A refused request writes
 * nothing. (The concurrent-call cap is enforced earlier, before the request
 * body is read, by the admission interceptor.)
 */
export class IngestionGuard {
  constructor(private readonly deps: IngestionGuardDeps) {}

  unary<Req, Res>(handler: UnaryHandler<Req, Res>, weigh: (request: Req) => number): UnaryHandler<Req, Res> {
    return async (request, ctx) => {
      await this.requireDatabase();
      const messages = weigh(request);
      await this.deps.rateLimiter.consume(ctx.caller, messages);
      const release = this.reserve(messages);
      try {
        return await this.reportingOutages(() => handler(request, ctx));
      } finally {
        release();
      }
    };
  }

  /**
   * For client streams the call is charged one request up front; each chunk
   * is charged its messages (rate limit and buffer cap) when the handler
   * pulls it, and its buffer reservation is given back when the handler pulls
   * the next one. Chunks stored before a refusal stay stored; resending the
   * stream with the same x-batch-id yields DUPLICATE for them.
   */
  stream<Req, Res>(
    handler: ClientStreamHandler<Req, Res>,
    weigh: (chunk: Req) => number,
  ): ClientStreamHandler<Req, Res> {
    return async (stream, ctx) => {
      await this.requireDatabase();
      await this.deps.rateLimiter.consume(ctx.caller, 0);
      let held: Release = () => undefined;
      const guarded = this.guardedChunks(stream, ctx, weigh, (release) => {
        held();
        held = release;
      });
      try {
        return await this.reportingOutages(() => handler(guarded, ctx));
      } finally {
        held();
      }
    };
  }

  private async *guardedChunks<Req>(
    stream: AsyncIterable<Req>,
    ctx: CallContext,
    weigh: (chunk: Req) => number,
    hold: (release: Release) => void,
  ): AsyncGenerator<Req> {
    for await (const chunk of stream) {
      hold(() => undefined);
      const messages = weigh(chunk);
      await this.deps.rateLimiter.consumeMessages(ctx.caller, messages);
      hold(this.reserve(messages));
      yield chunk;
    }
    hold(() => undefined);
  }

  private async requireDatabase(): Promise<void> {
    const health = this.deps.databaseHealth;
    if (health && !(await health.availableNow())) {
      throw unavailable('database unavailable, retry later', { retryDelayMs: this.deps.retryDelayMs });
    }
  }

  private reserve(messages: number): Release {
    const release = this.deps.admission.tryReserveMessages(messages);
    if (release) return release;
    const { bufferedMessages, maxBufferedMessages } = this.deps.admission;
    throw unavailable(
      `server overloaded: ${bufferedMessages} messages are being processed (MAX_BUFFERED_MESSAGES ${maxBufferedMessages}); retry later`,
      { retryDelayMs: this.deps.retryDelayMs },
    );
  }

  private async reportingOutages<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (isDatabaseUnavailable(err)) this.deps.databaseHealth?.reportUnavailable();
      throw err;
    }
  }
}
