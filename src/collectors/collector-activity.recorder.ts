import type { Kysely } from 'kysely';
import type { CollectorInfo } from '../../generated/catsyphon/telemetry/v1/sessions';
import { recordCollectorSeen } from './collector.repository';
import type { DB } from '../db/schema';
import type { Caller } from '../identity/caller';
import type { Logger } from '../logging/logger';
import type { Clock } from '../util/clock';
import type { CollectorActivity } from '../auth/collector-info';

export interface CollectorActivityRecorderOptions {
  readonly db: Kysely<DB>;
  readonly logger: Logger;
  readonly clock: Clock;
  /** At most one write per collector per interval (default 5 s). */
  readonly intervalMs?: number;
  /** The write itself (default: collectors.last_seen_at/hostname/version); tests count it. */
  readonly store?: (db: Kysely<DB>, collectorId: string, seen: { at: Date; hostname: string; version: string }) => Promise<void>;
}

/** A CollectorActivity that can be flushed and stopped with the server. */
export interface CollectorActivityRecorder extends CollectorActivity {
  /** Writes whatever is pending now and waits for every write in flight. */
  flush(): Promise<void>;
  /** Flushes, then ignores further records. */
  close(): Promise<void>;
}

interface Seen {
  readonly at: number;
  readonly hostname: string;
  readonly version: string;
}

interface CollectorState {
  lastWriteAt: number;
  pending: Seen | undefined;
  timer: NodeJS.Timeout | undefined;
}

export const DEFAULT_ACTIVITY_INTERVAL_MS = 5_000;

/**
 * Records last_seen_at, hostname and version of collectors, debounced: the
 * first call of a collector writes at once, later calls within the interval
 * only remember the newest values, written when the interval ends. `record`
 * never waits for the database and never throws; a failed write is logged.
 */
export function createCollectorActivityRecorder(options: CollectorActivityRecorderOptions): CollectorActivityRecorder {
  const intervalMs = options.intervalMs ?? DEFAULT_ACTIVITY_INTERVAL_MS;
  const store = options.store ?? recordCollectorSeen;
  const logger = options.logger.child({ component: 'collector-activity' });
  const states = new Map<string, CollectorState>();
  const writes = new Set<Promise<void>>();
  let closed = false;

  const write = (collectorId: string, state: CollectorState): void => {
    if (state.timer) clearTimeout(state.timer);
    state.timer = undefined;
    const seen = state.pending;
    if (!seen) return;
    state.pending = undefined;
    state.lastWriteAt = options.clock.now();
    const done = store(options.db, collectorId, {
      at: new Date(seen.at),
      hostname: seen.hostname,
      version: seen.version,
    })
      .catch((err: unknown) => logger.warn({ err, collectorId }, 'could not record collector activity'))
      .finally(() => writes.delete(done));
    writes.add(done);
  };

  return {
    record(caller: Caller, info: CollectorInfo): void {
      if (closed) return;
      const now = options.clock.now();
      let state = states.get(caller.collectorId);
      if (!state) {
        state = { lastWriteAt: Number.NEGATIVE_INFINITY, pending: undefined, timer: undefined };
        states.set(caller.collectorId, state);
      }
      state.pending = { at: now, hostname: info.hostname, version: info.version };
      const wait = state.lastWriteAt + intervalMs - now;
      if (wait <= 0) {
        write(caller.collectorId, state);
      } else if (!state.timer) {
        const s = state;
        state.timer = setTimeout(() => write(caller.collectorId, s), wait);
        state.timer.unref();
      }
    },
    async flush(): Promise<void> {
      for (const [id, state] of states) write(id, state);
      await Promise.all([...writes]);
    },
    async close(): Promise<void> {
      closed = true;
      for (const [id, state] of states) write(id, state);
      await Promise.all([...writes]);
      states.clear();
    },
  };
}
