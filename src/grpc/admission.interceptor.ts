import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../logging/logger';
import type { Admission, Release } from '../protect/admission';
import { type StatusPolicy, toServiceError } from './status';

export interface AdmissionInterceptorOptions {
  readonly admission: Admission;
  /** Full method paths prefixes the cap applies to, e.g. `/catsyphon.telemetry.v1.SessionIngestion/`. */
  readonly pathPrefixes: readonly string[];
  readonly statusPolicy: StatusPolicy;
  readonly logger: Logger;
}

/**
 * A grpc-js server interceptor that caps concurrent ingestion calls
 * (MAX_CONCURRENT_INGESTIONS, src/protect/admission.ts). It decides on the
 * request headers, before the request body is read or decoded, so a flood
 * of calls past the cap costs no memory for their payloads: they get
 * UNAVAILABLE with RetryInfo at once, mapped by src/grpc/status.ts like any
 * other error. The slot is held until the call's status is sent or the call
 * is cancelled.
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
            const admitted = options.admission.enterCall();
            if (admitted.kind === 'admitted') {
              release = admitted.release;
              return nextMetadata(metadata);
            }
            if (Date.now() - lastWarning > 10_000) {
              lastWarning = Date.now();
              logger.warn({ limit: options.admission.maxConcurrentIngestions, method: method.path }, 'shedding ingestion calls');
            }
            call.sendStatus(toServiceError(admitted.error, logger, options.statusPolicy));
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
