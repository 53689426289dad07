import { type DomainError, unavailable } from '../errors/domain-error';
import type { IngestMetrics } from '../metrics/ingest-metrics';

/** Gives back what was admitted; safe to call more than once. */
export type Release = () => void;

export interface AdmissionLimits {
  readonly maxConcurrentIngestions: number;
  readonly maxBufferedMessages: number;
  /** The RetryInfo delay of a refusal (OVERLOAD_RETRY_DELAY_MS). */
  readonly overloadRetryDelayMs: number;
}

/** A call let in (give the slot back with `release`), or refused with the error to answer. */
export type CallAdmission =
  | { readonly kind: 'admitted'; readonly release: Release }
  | { readonly kind: 'refused'; readonly error: DomainError };

/**
 * Caps the work in flight on this replica: ingestion calls running at once,
 * and messages of requests being processed. Past a cap the caller is told to
 * come back later (UNAVAILABLE with RetryInfo) instead of queueing in memory.
 */
export class Admission {
  private calls = 0;
  private messages = 0;
  private shed = { calls: 0, messages: 0 };

  constructor(
    private readonly limits: AdmissionLimits,
    /** Told of every call refused by either cap; nothing when absent. */
    private readonly metrics?: Pick<IngestMetrics, 'overloaded'>,
  ) {}

  get inFlightCalls(): number {
    return this.calls;
  }

  get bufferedMessages(): number {
    return this.messages;
  }

  /** Calls refused by the concurrency cap since start (for metrics and tests). */
  get shedCalls(): number {
    return this.shed.calls;
  }

  /** Calls refused by the buffered-messages cap since start. */
  get shedForMessages(): number {
    return this.shed.messages;
  }

  get maxConcurrentIngestions(): number {
    return this.limits.maxConcurrentIngestions;
  }

  get maxBufferedMessages(): number {
    return this.limits.maxBufferedMessages;
  }

  /** Admits one more ingestion call, or refuses it with UNAVAILABLE when the cap is reached. */
  enterCall(): CallAdmission {
    const release = this.tryEnterCall();
    if (release) return { kind: 'admitted', release };
    const limit = this.limits.maxConcurrentIngestions;
    const error = unavailable(
      `server overloaded: ${limit} ingestion calls in flight (MAX_CONCURRENT_INGESTIONS); retry later`,
      { retryDelayMs: this.limits.overloadRetryDelayMs },
    );
    return { kind: 'refused', error };
  }

  /** Admits one more ingestion call, or returns undefined when the cap is reached. */
  private tryEnterCall(): Release | undefined {
    if (this.calls >= this.limits.maxConcurrentIngestions) {
      this.shed.calls++;
      this.metrics?.overloaded();
      return undefined;
    }
    this.calls++;
    return once(() => this.calls--);
  }

  /**
   * Reserves room for `count` buffered messages, or returns undefined when
   * they do not fit. A request larger than the whole cap is still admitted
   * when nothing else is buffered (it is already decoded, and the receive
   * size limit bounds it); otherwise it could never be served.
   */
  tryReserveMessages(count: number): Release | undefined {
    if (count <= 0) return () => undefined;
    if (this.messages > 0 && this.messages + count > this.limits.maxBufferedMessages) {
      this.shed.messages++;
      this.metrics?.overloaded();
      return undefined;
    }
    this.messages += count;
    return once(() => {
      this.messages -= count;
    });
  }
}

function once(fn: () => void): Release {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
