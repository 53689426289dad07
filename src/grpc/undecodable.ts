import type * as grpc from '@grpc/grpc-js';
import { configureTextEncoding, getTextEncoding } from '@bufbuild/protobuf/wire';
import { invalidArgument } from '../errors/domain-error';

let strictUtf8 = false;

/**
 * Makes protobuf decoding reject invalid UTF-8 in string fields, as proto3
 * requires, instead of silently replacing it with U+FFFD (the library's
 * default, which would store something other than what was sent). Applies
 * process-wide to @bufbuild/protobuf's BinaryReader, which the generated code
 * uses; called once by createServer.
 */
export function enforceStrictUtf8(): void {
  if (strictUtf8) return;
  strictUtf8 = true;
  const encoding = getTextEncoding();
  configureTextEncoding({ ...encoding, decodeUtf8: (bytes) => encoding.decodeUtf8(bytes, true) });
}

/**
 * What a request deserializer yields for bytes that are not a valid message.
 * grpc-js answers a throwing deserializer with INTERNAL; the handler adapters
 * in rpc.ts turn this marker into INVALID_ARGUMENT instead (after
 * authentication), which tells the client the fault is in its request.
 */
export class UndecodableMessage {
  constructor(readonly reason: string) {}
}

/** Makes every method's request deserializer return UndecodableMessage instead of throwing. */
export function withTolerantRequests(definition: grpc.ServiceDefinition): grpc.ServiceDefinition {
  return Object.fromEntries(
    Object.entries(definition).map(([name, method]) => {
      const deserialize = method.requestDeserialize;
      const requestDeserialize = (bytes: Buffer) => {
        try {
          return deserialize(bytes);
        } catch (err) {
          return new UndecodableMessage(err instanceof Error ? err.message : String(err));
        }
      };
      return [name, { ...method, requestDeserialize }];
    }),
  );
}

/** The request itself, or INVALID_ARGUMENT when its bytes could not be decoded. */
export function decodedOrThrow<T>(value: T | UndecodableMessage): T {
  if (value instanceof UndecodableMessage) {
    throw invalidArgument(`request is not a valid protobuf message: ${value.reason}`);
  }
  return value;
}

/** A stream's chunks, failing with INVALID_ARGUMENT at the first undecodable one. */
export async function* decodedChunks<T>(stream: AsyncIterable<T | UndecodableMessage>): AsyncGenerator<T> {
  for await (const chunk of stream) yield decodedOrThrow(chunk);
}
