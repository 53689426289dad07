import * as grpc from '@grpc/grpc-js';
import type { CollectorInfo } from '../../generated/catsyphon/telemetry/v1/sessions';
import { reconcileCollectorInfo } from '../../src/auth/collector-info';
import { DomainError } from '../../src/errors/domain-error';
import type { Caller } from '../../src/identity/caller';
import { toServiceError } from '../../src/grpc/status';
import { captureLogger } from '../helpers/log-capture';

const caller: Caller = {
  collectorId: '11111111-1111-4111-8111-111111111111',
  collectorName: 'laptop',
  workspaceId: '2222aaaa-2222-4222-8222-22222222bbbb',
  rateLimits: { requestsPerMin: undefined, messagesPerMin: undefined },
};

const info = (over: Partial<CollectorInfo> = {}): CollectorInfo => ({
  type: 'aiobscura',
  version: '1.2.3',
  hostname: 'box',
  collectorId: '',
  workspaceId: '',
  metadata: { os: 'linux' },
  ...over,
});

function statusOf(fn: () => unknown): Partial<grpc.StatusObject> {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    return toServiceError(err, captureLogger().logger, { unavailableRetryDelayMs: 1_000 });
  }
  throw new Error('expected a DomainError');
}

describe('reconcileCollectorInfo', () => {
  test('empty ids are filled from the key; everything else is kept', () => {
    expect(reconcileCollectorInfo(caller, info())).toEqual(
      info({ collectorId: caller.collectorId, workspaceId: caller.workspaceId }),
    );
  });

  test('ids equal to the key are accepted', () => {
    const given = info({ collectorId: caller.collectorId, workspaceId: caller.workspaceId });
    expect(reconcileCollectorInfo(caller, given)).toEqual(given);
  });

  test('a missing CollectorInfo becomes one filled from the key', () => {
    expect(reconcileCollectorInfo(caller, undefined)).toEqual({
      type: '',
      version: '',
      hostname: '',
      collectorId: caller.collectorId,
      workspaceId: caller.workspaceId,
      metadata: {},
    });
  });

  test('another workspace id is PERMISSION_DENIED', () => {
    const status = statusOf(() =>
      reconcileCollectorInfo(caller, info({ workspaceId: '33333333-3333-4333-8333-333333333333' })),
    );
    expect(status.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(status.details).toMatch(/workspace_id/);
  });

  test('another collector id is PERMISSION_DENIED, even with the right workspace', () => {
    const status = statusOf(() =>
      reconcileCollectorInfo(
        caller,
        info({ workspaceId: caller.workspaceId, collectorId: '44444444-4444-4444-8444-444444444444' }),
      ),
    );
    expect(status.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(status.details).toMatch(/collector_id/);
  });

  test('the comparison is exact (no case folding or trimming)', () => {
    expect(statusOf(() => reconcileCollectorInfo(caller, info({ workspaceId: caller.workspaceId.toUpperCase() }))).code).toBe(
      grpc.status.PERMISSION_DENIED,
    );
    expect(statusOf(() => reconcileCollectorInfo(caller, info({ workspaceId: ` ${caller.workspaceId}` }))).code).toBe(
      grpc.status.PERMISSION_DENIED,
    );
  });
});
