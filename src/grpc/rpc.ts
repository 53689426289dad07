import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../logging/logger';
import { DomainError } from '../errors/domain-error';
import type { CallContext, ClientStreamHandler, UnaryHandler } from '../identity/call-context';
import type { Authenticator } from '../identity/caller';
import type { RpcObserver } from '../metrics/rpc-observer';
import { type StatusPolicy, toServiceError } from './status';
import { decodedChunks, decodedOrThrow, type UndecodableMessage } from './undecodable';

export interface RpcDeps {
  readonly logger: Logger;
  readonly authenticator: Authenticator;
  readonly observer?: RpcObserver;
  /** Retry delays of errors mapped to statuses. */
  readonly statusPolicy: StatusPolicy;
  /** Tracks in-flight calls so shutdown can wait for them. */
  readonly inFlight?: InFlightCalls;
  /**
   * The longest a unary handler may run (RPC_TIMEOUT_MS): past it the call is
   * answered DEADLINE_EXCEEDED and its signal aborted, so no call hangs on a
   * database that stopped answering. 0 or absent: no server-side limit.
   */
  readonly timeoutMs?: number;
}

/** Counts running calls; `idle()` resolves when none is left. */
export class InFlightCalls {
  private count = 0;
  private waiters: Array<() => void> = [];

  get size(): number {
    return this.count;
  }

  enter(): () => void {
    this.count++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.count--;
      if (this.count === 0) for (const w of this.waiters.splice(0)) w();
    };
  }

  idle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}

type AnyCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown>;

/**
 * Runs one RPC: authenticates, builds the context, calls the async handler,
 * maps any error in one place, logs one line and reports to the observer.
 * `respond` is invoked exactly once.
 */
async function runCall<Res>(
  method: string,
  call: AnyCall,
  deps: RpcDeps,
  invoke: (ctx: CallContext) => Promise<Res>,
  respond: (err: Partial<grpc.StatusObject> | null, value?: Res) => void,
): Promise<void> {
  const started = process.hrtime.bigint();
  const requestId = randomUUID();
  const peer = call.getPeer();
  // One child logger per call: made after authentication with the caller's
  // ids, or on a failure before it.
  let logger: Logger | undefined;
  const callLogger = () => (logger ??= deps.logger.child({ method, requestId }));
  const leave = deps.inFlight?.enter();
  const abort = new AbortController();
  const onCancel = () => abort.abort(new Error('call cancelled'));
  call.once('cancelled', onCancel);
  let code: grpc.status = grpc.status.OK;
  let collectorId: string | undefined;
  try {
    const caller = await deps.authenticator.authenticate(call.metadata, peer);
    collectorId = caller.collectorId;
    logger = deps.logger.child({ method, requestId, collectorId, workspaceId: caller.workspaceId });
    const ctx: CallContext = { method, requestId, logger, metadata: call.metadata, peer, caller, signal: abort.signal };
    const value = await withTimeout(invoke(ctx), deps.timeoutMs, abort);
    respond(null, value);
  } catch (err) {
    const status = toServiceError(err, callLogger(), deps.statusPolicy);
    code = status.code ?? grpc.status.UNKNOWN;
    respond(status);
  } finally {
    call.removeListener('cancelled', onCancel);
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    // A client cancel is CANCELLED; the server's own deadline keeps its DEADLINE_EXCEEDED.
    if (abort.signal.aborted && !(abort.signal.reason instanceof DomainError)) code = grpc.status.CANCELLED;
    callLogger().info(
      { code: grpc.status[code], durationMs: Math.round(durationMs * 100) / 100, peer },
      'rpc',
    );
    deps.observer?.onRpcEnd(method, code, durationMs);
    leave?.();
  }
}

/** Adapts an async unary handler to grpc-js. */
export function unary<Req, Res>(method: string, handler: UnaryHandler<Req, Res>, deps: RpcDeps) {
  return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): void => {
    void runCall(
      method,
      call as AnyCall,
      deps,
      (ctx) => handler(decodedOrThrow(call.request as Req | UndecodableMessage), ctx),
      (err, value) => (err ? callback(err) : callback(null, value)),
    );
  };
}

/** Adapts an async client-streaming handler to grpc-js; the stream is read on demand. */
export function clientStream<Req, Res>(method: string, handler: ClientStreamHandler<Req, Res>, deps: RpcDeps) {
  return (call: grpc.ServerReadableStream<Req, Res>, callback: grpc.sendUnaryData<Res>): void => {
    // A stream may legitimately run for as long as the client keeps sending:
    // RPC_TIMEOUT_MS applies to unary calls only (each chunk's database work
    // is still bounded by the connect and statement timeouts).
    void runCall(
      method,
      call as AnyCall,
      { ...deps, timeoutMs: undefined },
      (ctx) => handler(decodedChunks(call as AsyncIterable<Req | UndecodableMessage>), ctx),
      (err, value) => (err ? callback(err) : callback(null, value)),
    );
  };
}

/** Races a handler against the server-side deadline; the handler is told through its signal. */
function withTimeout<T>(work: Promise<T>, timeoutMs: number | undefined, abort: AbortController): Promise<T> {
  if (!timeoutMs) return work;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const err = new DomainError(
        'deadline_exceeded',
        `request did not complete within the server's ${timeoutMs} ms limit (RPC_TIMEOUT_MS); retry later`,
      );
      abort.abort(err);
      reject(err);
    }, timeoutMs);
    timer.unref();
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
