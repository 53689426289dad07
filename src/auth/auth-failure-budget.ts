import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

/** Which budget refused an attempt: the subject's own, or the global one shared by all subjects. */
export type FailureBudgetLimit = 'subject' | 'global';

/** An expensive check let in: tell the budget whether it succeeded (a success costs nothing). */
export interface FailureReservation {
  /** The check passed: the reserved failure is given back. Safe to call more than once. */
  succeeded(): Promise<void>;
}

export type FailureBudgetOutcome =
  | { readonly kind: 'reserved'; readonly reservation: FailureReservation }
  | { readonly kind: 'refused'; readonly limit: FailureBudgetLimit; readonly retryDelayMs: number };

/**
 * The narrow interface of a failure budget: reserve one failure for a
 * subject (an API key's collector prefix, an admin key's prefix) before an
 * expensive check such as a bcrypt compare, and give it back when the check
 * passes.
 */
export interface AuthFailureBudget {
  reserve(subject: string): Promise<FailureBudgetOutcome>;
}

export interface FailureBudgetOptions {
  /** Failed checks per subject per window before the subject is refused. */
  readonly perSubject: number;
  /** Failed checks per window across all subjects: the global bound. */
  readonly global: number;
  readonly windowMs: number;
}

const GLOBAL_KEY = '*';

/**
 * Failed-check budgets per subject and globally, counted in memory per
 * window (rate-limiter-flexible, fixed windows of `windowMs`).
 *
 * Every check reserves a point of both budgets before it runs, so concurrent
 * checks cannot overshoot, and gets both back when it succeeds: per window
 * at most `perSubject` checks of one subject fail, and at most `global`
 * checks fail in all. A subject over its budget is refused without running
 * the check; other subjects are unaffected until the global budget is spent.
 * Memory: one small entry per subject that failed in the current window.
 */
export class FailureBudget implements AuthFailureBudget {
  private readonly subjects: RateLimiterMemory;
  private readonly all: RateLimiterMemory;

  constructor(options: FailureBudgetOptions) {
    const duration = Math.max(1, Math.ceil(options.windowMs / 1000));
    this.subjects = new RateLimiterMemory({ keyPrefix: 'subject', points: options.perSubject, duration });
    this.all = new RateLimiterMemory({ keyPrefix: 'global', points: options.global, duration });
  }

  async reserve(subject: string): Promise<FailureBudgetOutcome> {
    const own = await take(this.subjects, subject);
    if (own !== true) return { kind: 'refused', limit: 'subject', retryDelayMs: own };
    const global = await take(this.all, GLOBAL_KEY);
    if (global !== true) {
      await this.subjects.reward(subject, 1);
      return { kind: 'refused', limit: 'global', retryDelayMs: global };
    }
    let done = false;
    return {
      kind: 'reserved',
      reservation: {
        succeeded: async () => {
          if (done) return;
          done = true;
          await Promise.all([this.subjects.reward(subject, 1), this.all.reward(GLOBAL_KEY, 1)]);
        },
      },
    };
  }
}

/** Takes one point, or gives it back and returns the wait until the window resets. */
async function take(limiter: RateLimiterMemory, key: string): Promise<true | number> {
  try {
    await limiter.consume(key, 1);
    return true;
  } catch (err) {
    if (!(err instanceof RateLimiterRes)) throw err;
    // rate-limiter-flexible counts refused points too; a refusal must not extend the block.
    await limiter.reward(key, 1);
    return Math.max(1, err.msBeforeNext);
  }
}
