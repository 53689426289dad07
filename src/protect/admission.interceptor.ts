import * as grpc from '@grpc/grpc-js';
import { encodeRetryInfoDetails } from '../grpc/retry-info';
import type { Logger } from '../logging/logger';
import type { Admission, Release } from './admission';

export interface AdmissionInterceptorOptions {
  readonly admission: Admission;
  /** Full method paths prefixes the cap applies to, e.g. `/catsyphon.telemetry.v1.SessionIngestion/`. */
  readonly pathPrefixes: readonly string[];
  readonly retryDelayMs: number;
  readonly logger: Logger;
}

/**
 * A grpc-js server interceptor that caps concurrent ingestion calls
 * (MAX_CONCURRENT_INGESTIONS). It decides on the request headers, before the
 * request body is read or decoded, so a flood of calls past the cap costs
 * no memory for their payloads: they get UNAVAILABLE with RetryInfo at once.
 * The slot is held until the call's status is sent or the call is cancelled.
 */
export function admissionInterceptor(options: AdmissionInterceptorOptions): grpc.ServerInterceptor {
  const logger = options.logger.child({ component: 'admission' });
  let lastWarning = 0;
  return (method, call) => {
    if (!options.pathPrefixes.some((prefix) => method.path.startsWith(prefix))) {
      return new grpc.ServerInterceptingCall(call);
    }
    let release: Release | undefined;
    const leave = () => release?.();
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            release = options.admission.tryEnterCall();
            if (release) return nextMetadata(metadata);
            const limit = options.admission.maxConcurrentIngestions;
            const details = `server overloaded: ${limit} ingestion calls in flight (MAX_CONCURRENT_INGESTIONS); retry later`;
            if (Date.now() - lastWarning > 10_000) {
              lastWarning = Date.now();
              logger.warn({ limit, method: method.path }, 'shedding ingestion calls');
            }
            const trailers = new grpc.Metadata();
            trailers.set(
              'grpc-status-details-bin',
              encodeRetryInfoDetails(grpc.status.UNAVAILABLE, details, options.retryDelayMs),
            );
            call.sendStatus({ code: grpc.status.UNAVAILABLE, details, metadata: trailers });
          },
          onCancel: leave,
        });
      },
      sendStatus: (status, next) => {
        leave();
        next(status);
      },
    });
  };
}
