import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Config } from '../config/config';
import type { Logger } from '../logging/logger';

export const METRICS_PATH = '/metrics';

export interface MetricsServer {
  /** Listens on METRICS_HOST:METRICS_PORT; resolves with the bound port. */
  start(): Promise<number>;
  /** Stops listening and closes idle scrape connections. */
  stop(): Promise<void>;
  readonly port: number;
}

/**
 * A plain HTTP listener for Prometheus: GET /metrics answers the registry in
 * the text exposition format, everything else 404. It is separate from the
 * gRPC port so scrapes never compete with ingestion for streams, and so it
 * can stay unexposed by the L4 Service.
 */
export function createMetricsServer(
  config: Config['metrics'],
  registry: Registry,
  logger: Logger,
): MetricsServer {
  const log = logger.child({ component: 'metrics' });
  let port = -1;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== METRICS_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: unknown) => {
        log.error({ err }, 'metrics collection failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  server.keepAliveTimeout = 5_000;

  return {
    get port() {
      return port;
    },
    start: () =>
      new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          port = (server.address() as AddressInfo).port;
          log.info({ host: config.host, port, path: METRICS_PATH }, 'metrics endpoint listening');
          resolve(port);
        });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
