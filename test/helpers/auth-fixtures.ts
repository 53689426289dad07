import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type {
  CollectorInfo,
  ExportSessionsResponse,
  SessionIngestionClient,
} from '../../generated/catsyphon/telemetry/v1/sessions';
import { bcryptKeyHasher, type KeyHasher } from '../../src/auth/key-hasher';
import type { Clock } from '../../src/util/clock';

/** Real bcrypt (at the cost given) that counts its compares. */
export class CountingHasher implements KeyHasher {
  compares = 0;
  private readonly inner: KeyHasher;
  constructor(cost = 4) {
    this.inner = bcryptKeyHasher(cost);
  }
  hash(key: string): Promise<string> {
    return this.inner.hash(key);
  }
  compare(key: string, hash: string): Promise<boolean> {
    this.compares++;
    return this.inner.compare(key, hash);
  }
}

/** A clock tests move by hand. */
export class FakeClock implements Clock {
  constructor(public ms = Date.UTC(2026, 10, 22, 12)) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export function bearer(key: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${key}`);
  return metadata;
}

/** Calls ExportSessions and resolves with the status code and message, whatever the outcome. */
export function exportStatus(
  client: SessionIngestionClient,
  metadata: grpc.Metadata = new grpc.Metadata(),
  collector?: CollectorInfo,
): Promise<{ code: grpc.status; details: string; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    client.exportSessions(
      // An empty batch under a fresh batch id: authenticated, it is accepted (OK).
      { batchId: randomUUID(), sessions: [], collector },
      metadata,
      (err: grpc.ServiceError | null, _res?: ExportSessionsResponse) =>
        resolve(err ? { code: err.code, details: err.details, error: err } : { code: grpc.status.OK, details: '' }),
    );
  });
}
