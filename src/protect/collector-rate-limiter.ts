import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { ProtectConfig } from '../config/config';
import { DomainError } from '../errors/domain-error';
import type { Caller } from '../identity/caller';
import type { IngestMetrics, RateLimitKind } from '../metrics/ingest-metrics';
import type { ReplicaCount } from './replica-heartbeat';

/** How many minutes one burst allowance lasts before it refills. */
export const BURST_WINDOW_MINUTES = 10;

/** One limit as it applies to one collector on this replica. */
export interface EffectiveLimit {
  /** Sustained allowance per one-minute window; 0 means unlimited. */
  readonly perMin: number;
  /** Extra allowance per BURST_WINDOW_MINUTES, used only once the minute's allowance is spent. */
  readonly burst: number;
  /** Cluster scope: the configured (cluster-wide) limit this is a share of, and of how many replicas. */
  readonly cluster?: { readonly perMin: number; readonly burst: number; readonly replicas: number };
}

type Kind = RateLimitKind;

interface Bucket {
  readonly main: RateLimiterMemory;
  readonly burst: RateLimiterMemory | undefined;
}

/** Granted (and by which limiter, so it can be refunded), or refused with a useful wait if any. */
type Outcome = { kind: 'granted'; paidBy?: RateLimiterMemory } | { kind: 'refused'; retryDelayMs: number | undefined };

/**
 * Per-collector rate limits: requests per minute and messages per minute,
 * each with a burst allowance, counted in memory with rate-limiter-flexible.
 *
 * Each limit is a pair of limiters in the library's "bursty" arrangement:
 * a one-minute window of `perMin` points, and a burst window of `burst`
 * points over BURST_WINDOW_MINUTES that is drawn on only when the minute's
 * points are spent. A request that is refused consumes nothing (its points
 * are given back), so a client that backs off is not punished further.
 *
 * Counting is in memory. In `replica` scope each replica enforces the whole
 * limit (N replicas admit up to N times it). In `cluster` scope each replica
 * enforces its share: the configured limit and burst divided by the live
 * replica count (from the heartbeat table), rounded down but at least 1 per
 * minute, so all replicas together stay within the configured limit. When
 * the count changes, the shares start counting afresh.
 */
export class CollectorRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly defaults: ProtectConfig['rateLimits'],
    /** Told of every refusal, by limit; nothing when absent. */
    private readonly metrics?: Pick<IngestMetrics, 'rateLimited'>,
    /** Cluster scope: the live replica count the limits are shared by; absent = replica scope. */
    private readonly replicas?: ReplicaCount,
  ) {}

  /** The limits that apply to a caller on this replica: its overrides or the defaults, shared in cluster scope. */
  limitsFor(caller: Caller): Record<Kind, EffectiveLimit> {
    const d = this.defaults;
    const n = this.replicas ? Math.max(1, this.replicas.liveReplicas()) : undefined;
    return {
      requests: shareOf(effective(caller.rateLimits.requestsPerMin, d.requestsPerMin, d.requestsBurst), n),
      messages: shareOf(effective(caller.rateLimits.messagesPerMin, d.messagesPerMin, d.messagesBurst), n),
    };
  }

  /**
   * Charges one request carrying `messages` messages to the caller, or throws
   * RESOURCE_EXHAUSTED (with a retry delay when waiting can help) and charges
   * nothing. Call it before any database work.
   */
  async consume(caller: Caller, messages: number): Promise<void> {
    const limits = this.limitsFor(caller);
    const requests = await this.take('requests', limits.requests, caller.collectorId, 1);
    if (requests.kind === 'refused') throw this.refuse(caller, 'requests', limits.requests, 1, requests.retryDelayMs);
    if (messages <= 0) return;
    const counted = await this.take('messages', limits.messages, caller.collectorId, messages);
    if (counted.kind === 'refused') {
      await requests.paidBy?.reward(caller.collectorId, 1);
      throw this.refuse(caller, 'messages', limits.messages, messages, counted.retryDelayMs);
    }
  }

  /** Charges more messages to a call already admitted (the chunks of a stream). */
  async consumeMessages(caller: Caller, messages: number): Promise<void> {
    if (messages <= 0) return;
    const limit = this.limitsFor(caller).messages;
    const counted = await this.take('messages', limit, caller.collectorId, messages);
    if (counted.kind === 'refused') throw this.refuse(caller, 'messages', limit, messages, counted.retryDelayMs);
  }

  private refuse(caller: Caller, kind: Kind, limit: EffectiveLimit, points: number, retryDelayMs: number | undefined) {
    this.metrics?.rateLimited(kind);
    return overLimit(caller, kind, limit, points, retryDelayMs);
  }

  private async take(kind: Kind, limit: EffectiveLimit, key: string, points: number): Promise<Outcome> {
    if (limit.perMin === 0) return { kind: 'granted' };
    // More than either window can ever hold: waiting will not help.
    if (points > limit.perMin && points > limit.burst) return { kind: 'refused', retryDelayMs: undefined };
    const bucket = this.bucket(kind, limit);
    const main = await attempt(bucket.main, key, points);
    if (main === true) return { kind: 'granted', paidBy: bucket.main };
    if (!bucket.burst) return { kind: 'refused', retryDelayMs: points > limit.perMin ? undefined : main };
    const burst = await attempt(bucket.burst, key, points);
    if (burst === true) return { kind: 'granted', paidBy: bucket.burst };
    const waits = [points <= limit.perMin ? main : undefined, points <= limit.burst ? burst : undefined];
    const usable = waits.filter((w): w is number => w !== undefined);
    return { kind: 'refused', retryDelayMs: usable.length ? Math.min(...usable) : undefined };
  }

  /** Limiter pairs are shared by every collector with the same limit values. */
  private bucket(kind: Kind, limit: EffectiveLimit): Bucket {
    const name = `${kind}:${limit.perMin}:${limit.burst}`;
    let bucket = this.buckets.get(name);
    if (!bucket) {
      bucket = {
        main: new RateLimiterMemory({ keyPrefix: `${name}:min`, points: limit.perMin, duration: 60 }),
        burst:
          limit.burst > 0
            ? new RateLimiterMemory({
                keyPrefix: `${name}:burst`,
                points: limit.burst,
                duration: 60 * BURST_WINDOW_MINUTES,
              })
            : undefined,
      };
      this.buckets.set(name, bucket);
    }
    return bucket;
  }
}

/** Consumes points, or gives them back and returns the wait before the window resets. */
async function attempt(limiter: RateLimiterMemory, key: string, points: number): Promise<true | number> {
  try {
    await limiter.consume(key, points);
    return true;
  } catch (err) {
    if (!(err instanceof RateLimiterRes)) throw err;
    // rate-limiter-flexible counts refused points too; a refusal must cost nothing.
    await limiter.reward(key, points);
    return Math.max(1, err.msBeforeNext);
  }
}

/** This replica's share of a cluster-wide limit (n replicas); unchanged in replica scope. */
function shareOf(limit: EffectiveLimit, n: number | undefined): EffectiveLimit {
  if (n === undefined) return limit;
  const cluster = { perMin: limit.perMin, burst: limit.burst, replicas: n };
  if (limit.perMin === 0) return { perMin: 0, burst: 0, cluster };
  return { perMin: Math.max(1, Math.floor(limit.perMin / n)), burst: Math.floor(limit.burst / n), cluster };
}

/** A per-collector override scales the burst in proportion to the default. */
function effective(override: number | undefined, perMin: number, burst: number): EffectiveLimit {
  if (override === undefined || override === perMin) return { perMin, burst };
  if (override === 0) return { perMin: 0, burst: 0 };
  const scaled = perMin > 0 ? Math.round((burst * override) / perMin) : burst;
  return { perMin: override, burst: scaled };
}

function overLimit(
  caller: Caller,
  kind: Kind,
  limit: EffectiveLimit,
  points: number,
  retryDelayMs: number | undefined,
): DomainError {
  const who = `collector ${caller.collectorName} (${caller.collectorId})`;
  const describe = (perMin: number, burst: number) => `${perMin} ${kind}/min (burst ${burst} per ${BURST_WINDOW_MINUTES} min)`;
  const c = limit.cluster;
  const what = c
    ? `${describe(c.perMin, c.burst)} cluster-wide, of which this replica enforces ${describe(limit.perMin, limit.burst)} (1/${c.replicas}, ${c.replicas} live ${c.replicas === 1 ? 'replica' : 'replicas'})`
    : describe(limit.perMin, limit.burst);
  if (retryDelayMs === undefined) {
    return new DomainError(
      'resource_exhausted',
      `${who}: a request with ${points} ${kind} exceeds its rate limit of ${what} on its own; send smaller batches`,
    );
  }
  const seconds = Math.ceil(retryDelayMs / 1000);
  return new DomainError('resource_exhausted', `${who} is over its rate limit of ${what}; retry in ${seconds}s`, {
    retryDelayMs,
  });
}
