import { createHash } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';

/** SHA-256 of the exact bytes each decoded request came from. */
const digests = new WeakMap<object, Buffer>();

/**
 * Makes the named methods remember a SHA-256 of each request's wire bytes,
 * read back with requestDigest(request). A retry that resends the same bytes
 * can then be recognised without re-encoding the decoded request (about a
 * quarter of the cost of hashing it canonically).
 */
export function withRequestDigest(definition: grpc.ServiceDefinition, methods: readonly string[]): grpc.ServiceDefinition {
  return Object.fromEntries(
    Object.entries(definition).map(([name, method]) => {
      if (!methods.includes(name)) return [name, method];
      const deserialize = method.requestDeserialize;
      const requestDeserialize = (bytes: Buffer) => {
        const value: unknown = deserialize(bytes);
        if (typeof value === 'object' && value !== null) digests.set(value, createHash('sha256').update(bytes).digest());
        return value;
      };
      return [name, { ...method, requestDeserialize }];
    }),
  );
}

/** The digest of the bytes `request` was decoded from, if it came through withRequestDigest. */
export function requestDigest(request: object): Buffer | undefined {
  return digests.get(request);
}
