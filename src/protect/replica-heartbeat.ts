import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema';
import type { Logger } from '../logging/logger';
import { beat, countLiveReplicas, deleteStaleHeartbeats, removeHeartbeat } from './replica-heartbeat.repository';

/** A heartbeat older than this many intervals is ignored, and deleted by the next replica to beat. */
export const STALE_AFTER_HEARTBEATS = 3;

/** How many replicas share the cluster-wide limits right now (at least 1: this one). */
export interface ReplicaCount {
  liveReplicas(): number;
}

/** Replica scope, or PGlite: this replica alone. */
export const singleReplica: ReplicaCount = { liveReplicas: () => 1 };

export interface ReplicaHeartbeatOptions {
  readonly db: Kysely<DB>;
  readonly intervalMs: number;
  readonly logger: Logger;
  /** Defaults to a random id: two processes on one host are two replicas. */
  readonly replicaId?: string;
}

/**
 * Records this replica in replica_heartbeats every `intervalMs` and counts
 * the live ones (heartbeat younger than STALE_AFTER_HEARTBEATS intervals),
 * deleting stale rows as it goes. If the database cannot be reached the
 * last count is kept. `stop()` deletes this replica's row so the others
 * take over its share at their next beat.
 */
export class ReplicaHeartbeat implements ReplicaCount {
  readonly replicaId: string;
  private count = 1;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly logger: Logger;

  constructor(private readonly options: ReplicaHeartbeatOptions) {
    this.replicaId = options.replicaId ?? randomUUID();
    this.logger = options.logger.child({ component: 'replica-heartbeat', replicaId: this.replicaId });
  }

  liveReplicas(): number {
    return this.count;
  }

  get staleMs(): number {
    return this.options.intervalMs * STALE_AFTER_HEARTBEATS;
  }

  /** Beats once (so the count is known before serving), then every interval. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.beatNow();
    this.schedule();
  }

  /** Records a heartbeat and recounts now (concurrent callers share one round). */
  beatNow(): Promise<void> {
    this.running ??= this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    try {
      await removeHeartbeat(this.options.db, this.replicaId);
    } catch (err) {
      this.logger.warn({ err: String(err) }, 'could not remove the replica heartbeat; it goes stale on its own');
    }
  }

  private async round(): Promise<void> {
    const { db } = this.options;
    try {
      await beat(db, this.replicaId, hostname());
      await deleteStaleHeartbeats(db, this.staleMs);
      const live = Math.max(1, await countLiveReplicas(db, this.staleMs));
      if (live !== this.count) {
        this.logger.info({ liveReplicas: live, was: this.count }, 'live replica count changed; cluster-wide rate limits re-shared');
      }
      this.count = live;
    } catch (err) {
      this.logger.warn({ err: String(err), liveReplicas: this.count }, 'replica heartbeat failed; keeping the last count');
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.beatNow().finally(() => this.schedule());
    }, this.options.intervalMs);
    this.timer.unref();
  }
}
