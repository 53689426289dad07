import * as grpc from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import type { Config } from '../config/config';
import type { Database } from '../db/database';
import type { Logger } from '../logging/logger';
import { addReflection } from './reflection';
import { type Authenticator, InFlightCalls, type RpcDeps, type RpcObserver } from './rpc';
import { enforceStrictUtf8, withTolerantRequests } from './undecodable';

/** A service to register: its definition and its grpc-js handlers. */
export interface ServiceRegistration {
  readonly name: string;
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
}

export interface ServerDeps {
  readonly database: Database;
  readonly logger: Logger;
  readonly authenticator: Authenticator;
  readonly observer?: RpcObserver;
  /** Builds the application services once the shared RPC plumbing exists. */
  readonly services: (rpc: RpcDeps) => readonly ServiceRegistration[];
  /** Extra channel options (tests shrink timeouts with these). */
  readonly channelOptions?: grpc.ServerOptions;
  /** Server interceptors (the admission cap of src/protect/). */
  readonly interceptors?: grpc.ServerInterceptor[];
  /** The longest an RPC may run on the server (RPC_TIMEOUT_MS); 0 or absent: no limit. */
  readonly rpcTimeoutMs?: number;
}

export interface IngestServer {
  /** Binds and starts serving; resolves with the bound port. */
  start(): Promise<number>;
  /**
   * Graceful stop: health turns NOT_SERVING, in-flight calls get up to
   * SHUTDOWN_GRACE_MS to finish while health stays answerable, then the
   * server stops accepting calls and is forced down if still busy.
   */
  stop(): Promise<void>;
  /** Sets the health status of every registered service (database checks use it). */
  setServing(serving: boolean): void;
  readonly port: number;
  readonly inFlight: InFlightCalls;
}

/**
 * Makes a method's serializer pass pre-encoded Buffers through untouched, so
 * an idempotent replay answers with the stored bytes exactly.
 */
function withPassThroughResponses(definition: grpc.ServiceDefinition): grpc.ServiceDefinition {
  return Object.fromEntries(
    Object.entries(definition).map(([name, method]) => {
      const serialize = method.responseSerialize;
      const responseSerialize = (value: unknown) => (Buffer.isBuffer(value) ? value : serialize(value));
      return [name, { ...method, responseSerialize }];
    }),
  );
}

export function createServer(config: Config, deps: ServerDeps): IngestServer {
  const logger = deps.logger.child({ component: 'grpc-server' });
  const inFlight = new InFlightCalls();
  enforceStrictUtf8();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': config.grpc.maxReceiveMessageBytes,
    'grpc.max_send_message_length': config.grpc.maxReceiveMessageBytes,
    ...deps.channelOptions,
    interceptors: [...(deps.channelOptions?.interceptors ?? []), ...(deps.interceptors ?? [])],
  });
  const rpcDeps: RpcDeps = {
    logger: deps.logger,
    authenticator: deps.authenticator,
    observer: deps.observer,
    inFlight,
    timeoutMs: deps.rpcTimeoutMs,
  };
  const services = deps.services(rpcDeps);
  const healthNames = ['', ...services.map((s) => s.name)];
  const health = new HealthImplementation(Object.fromEntries(healthNames.map((n) => [n, 'NOT_SERVING'])));
  health.addToServer(server);
  addReflection(server);
  for (const s of services) {
    server.addService(withTolerantRequests(withPassThroughResponses(s.definition)), s.implementation);
  }

  let port = -1;
  let stopping: Promise<void> | undefined;
  const setAll = (status: ServingStatus) => healthNames.forEach((n) => health.setStatus(n, status));

  return {
    get port() {
      return port;
    },
    inFlight,
    setServing: (serving) => {
      if (!stopping) setAll(serving ? 'SERVING' : 'NOT_SERVING');
    },
    start: () =>
      new Promise<number>((resolve, reject) => {
        server.bindAsync(
          `${config.grpc.host}:${config.grpc.port}`,
          grpc.ServerCredentials.createInsecure(),
          (err, bound) => {
            if (err) return reject(err);
            port = bound;
            setAll('SERVING');
            logger.info({ host: config.grpc.host, port }, 'gRPC server listening');
            resolve(bound);
          },
        );
      }),
    stop: () => {
      stopping ??= (async () => {
        setAll('NOT_SERVING');
        const deadline = Date.now() + config.shutdownGraceMs;
        logger.info({ inFlight: inFlight.size, graceMs: config.shutdownGraceMs }, 'draining');
        await Promise.race([inFlight.idle(), sleep(config.shutdownGraceMs)]);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            logger.warn({ inFlight: inFlight.size }, 'grace period over, forcing shutdown');
            server.forceShutdown();
            resolve();
          }, Math.max(0, deadline - Date.now()));
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        logger.info('gRPC server stopped');
      })();
      return stopping;
    },
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
