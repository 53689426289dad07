import type { Logger } from '../logging/logger';

/** While the database is down, calls trigger at most one re-check per this many ms. */
export const RECHECK_GAP_MS = 100;

export interface DatabaseHealthOptions {
  /** Resolves when the database answers (Database.ping). */
  readonly ping: () => Promise<void>;
  readonly intervalMs: number;
  /** A ping that takes longer than this counts as a failure. */
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Told whenever availability changes (the server's health status). */
  readonly onChange: (available: boolean) => void;
}

/**
 * Pings the database every DB_HEALTH_INTERVAL_MS. While it is unreachable
 * the server reports NOT_SERVING and ingestion calls are refused at once
 * with UNAVAILABLE instead of waiting for a connection; when it answers
 * again everything resumes, with no restart. A call that hits a lost
 * database reports it (`reportUnavailable`) so the next check runs at once.
 */
export class DatabaseHealth {
  private up = true;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<boolean> | undefined;
  private stopped = false;
  private lastCheckEnded = 0;
  private readonly logger: Logger;

  constructor(private readonly options: DatabaseHealthOptions) {
    this.logger = options.logger.child({ component: 'database-health' });
  }

  /** False from a failed check until the next successful one. */
  get available(): boolean {
    return this.up;
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Runs a check now (concurrent callers share one); resolves with availability. */
  check(): Promise<boolean> {
    this.checking ??= this.ping()
      .then(
        () => true,
        (err: unknown) => {
          if (this.up) this.logger.warn({ err: errorText(err) }, 'database check failed');
          return false;
        },
      )
      .then((ok) => {
        this.set(ok);
        return ok;
      })
      .finally(() => {
        this.checking = undefined;
        this.lastCheckEnded = Date.now();
      });
    return this.checking;
  }

  /**
   * For a call arriving while the database is marked down: joins the check
   * in progress or starts one (at most one per RECHECK_GAP_MS), so the first
   * call after the database returns goes through without waiting for the
   * next periodic check. While the database refuses connections this answers
   * at once; a database that does not answer at all holds the call for at
   * most DB_CONNECT_TIMEOUT_MS.
   */
  async availableNow(): Promise<boolean> {
    if (this.up) return true;
    if (this.checking) return this.checking;
    if (Date.now() - this.lastCheckEnded < RECHECK_GAP_MS) return this.up;
    return this.check();
  }

  /** A call failed because the database is unreachable: mark it down and re-check soon. */
  reportUnavailable(): void {
    this.set(false);
    void this.check();
  }

  private set(ok: boolean): void {
    if (ok === this.up) return;
    this.up = ok;
    if (ok) this.logger.info('database reachable again');
    else this.logger.error('database unreachable; reporting NOT_SERVING');
    this.options.onChange(ok);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.check().finally(() => this.schedule());
    }, this.options.intervalMs);
    this.timer.unref();
  }

  private ping(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`database did not answer within ${this.options.timeoutMs} ms`)),
        this.options.timeoutMs,
      );
      timer.unref();
      this.options.ping().then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
