import * as grpc from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import type { Config } from '../config/config';
import type { Logger } from '../logging/logger';
import { addReflection } from './reflection';
import { statusPolicyOf } from './status';
import type { Authenticator } from '../identity/caller';
import type { RpcObserver } from '../metrics/rpc-observer';
import { InFlightCalls, type RpcDeps } from './rpc';
import { createGrpcCredentials, type ReloadingCertificateProvider } from './tls';
import { enforceStrictUtf8, withTolerantRequests } from './undecodable';

/** A service to register: its definition and its grpc-js handlers. */
export interface ServiceRegistration {
  readonly name: string;
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
  /** false: not listed in grpc.health.v1 (a service that only refuses, like OTLP metrics). */
  readonly health?: boolean;
}

export interface ServerDeps {
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
  /** Port of the plaintext health-only listener (HEALTH_PORT), or -1. */
  readonly healthPort: number;
  readonly inFlight: InFlightCalls;
  /** The TLS certificate source when TLS is on (metrics read its expiry). */
  readonly certificates: ReloadingCertificateProvider | undefined;
}

/**
 * Connection management from the config. Under an L4 balancer a connection
 * stays on the pod it first reached, so connections are aged out (GOAWAY,
 * then a grace period for running calls) and clients reconnect through the
 * balancer. 0 leaves a limit off.
 */
export function connectionOptions(grpcConfig: Config['grpc']): grpc.ServerOptions {
  const options: grpc.ServerOptions = {
    'grpc.max_receive_message_length': grpcConfig.maxReceiveMessageBytes,
    'grpc.max_send_message_length': grpcConfig.maxReceiveMessageBytes,
    'grpc.max_concurrent_streams': grpcConfig.maxConcurrentStreams,
    'grpc.keepalive_timeout_ms': grpcConfig.keepaliveTimeoutMs,
  };
  if (grpcConfig.maxConnectionAgeMs > 0) options['grpc.max_connection_age_ms'] = grpcConfig.maxConnectionAgeMs;
  if (grpcConfig.maxConnectionAgeGraceMs > 0) {
    options['grpc.max_connection_age_grace_ms'] = grpcConfig.maxConnectionAgeGraceMs;
  }
  if (grpcConfig.keepaliveTimeMs > 0) options['grpc.keepalive_time_ms'] = grpcConfig.keepaliveTimeMs;
  return options;
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

/** Reports every request message's size to the observer as grpc-js decodes it. */
function withRequestBytes(definition: grpc.ServiceDefinition, observer: RpcObserver | undefined): grpc.ServiceDefinition {
  const report = observer?.onRequestBytes?.bind(observer);
  if (!report) return definition;
  return Object.fromEntries(
    Object.entries(definition).map(([name, method]) => {
      const rpcName = method.path.slice(method.path.lastIndexOf('/') + 1);
      const deserialize = method.requestDeserialize;
      const requestDeserialize = (bytes: Buffer) => {
        report(rpcName, bytes.length);
        return deserialize(bytes);
      };
      return [name, { ...method, requestDeserialize }];
    }),
  );
}

export function createServer(config: Config, deps: ServerDeps): IngestServer {
  const logger = deps.logger.child({ component: 'grpc-server' });
  const inFlight = new InFlightCalls();
  enforceStrictUtf8();
  const server = new grpc.Server({
    ...connectionOptions(config.grpc),
    ...deps.channelOptions,
    interceptors: [...(deps.channelOptions?.interceptors ?? []), ...(deps.interceptors ?? [])],
  });
  const { credentials, certificates } = createGrpcCredentials(config.tls, deps.logger);
  const rpcDeps: RpcDeps = {
    logger: deps.logger,
    authenticator: deps.authenticator,
    observer: deps.observer,
    statusPolicy: statusPolicyOf(config),
    inFlight,
    timeoutMs: deps.rpcTimeoutMs,
  };
  const services = deps.services(rpcDeps);
  const healthNames = ['', ...services.filter((s) => s.health !== false).map((s) => s.name)];
  const health = new HealthImplementation(Object.fromEntries(healthNames.map((n) => [n, 'NOT_SERVING'])));
  health.addToServer(server);
  // Kubelet gRPC probes speak plaintext only: with TLS on 4317 they use
  // this listener, which shares the health statuses and serves nothing else.
  const healthServer = config.grpc.healthPort === undefined ? undefined : new grpc.Server();
  if (healthServer) health.addToServer(healthServer);
  addReflection(server, services.map((s) => s.name));
  for (const s of services) {
    const definition = withTolerantRequests(withRequestBytes(withPassThroughResponses(s.definition), deps.observer));
    server.addService(definition, s.implementation);
  }

  let port = -1;
  let healthPort = -1;
  let stopping: Promise<void> | undefined;
  const setAll = (status: ServingStatus) => healthNames.forEach((n) => health.setStatus(n, status));

  return {
    get port() {
      return port;
    },
    get healthPort() {
      return healthPort;
    },
    inFlight,
    certificates,
    setServing: (serving) => {
      if (!stopping) setAll(serving ? 'SERVING' : 'NOT_SERVING');
    },
    start: async () => {
      if (healthServer) {
        const address = `${config.grpc.host}:${config.grpc.healthPort}`;
        healthPort = await bind(healthServer, address, grpc.ServerCredentials.createInsecure());
        logger.info({ host: config.grpc.host, port: healthPort }, 'plaintext health listener');
      }
      return new Promise<number>((resolve, reject) => {
        server.bindAsync(
          `${config.grpc.host}:${config.grpc.port}`,
          credentials,
          (err, bound) => {
            if (err) {
              healthServer?.forceShutdown();
              return reject(err);
            }
            port = bound;
            setAll('SERVING');
            const tls = config.tls ? (config.tls.clientCaFile ? 'mtls' : 'tls') : 'plaintext';
            logger.info({ host: config.grpc.host, port, tls }, 'gRPC server listening');
            resolve(bound);
          },
        );
      });
    },
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
        healthServer?.forceShutdown();
        logger.info('gRPC server stopped');
      })();
      return stopping;
    },
  };
}

function bind(target: grpc.Server, address: string, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) =>
    target.bindAsync(address, credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
  );
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
