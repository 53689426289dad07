import type { status } from '@grpc/grpc-js';

/** Sees every RPC once it ends; the RPC plumbing (src/grpc/rpc.ts) reports to it. */
export interface RpcObserver {
  onRpcEnd(method: string, code: status, durationMs: number): void;
  /** Each request message's encoded size, as it is decoded (client streams: per message). */
  onRequestBytes?(method: string, bytes: number): void;
}
