import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { FileDescriptorProto, FileDescriptorSet } from 'protobufjs/ext/descriptor';

/**
 * Finds generated/descriptors.binpb (built by `buf build` in `npm run
 * generate`) from src/ under ts-jest and from dist/src/ once compiled.
 */
export function findDescriptorFile(start = __dirname): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'generated', 'descriptors.binpb');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error('generated/descriptors.binpb not found; run `npm run generate`');
  }
}

/**
 * The buf-built FileDescriptorProtos of our own protos, each re-encoded alone.
 * catsyphon.admin.* is described only when this port serves it: a file of
 * that package is included when it defines one of `servedServices` (with
 * ADMIN_API=on, admin.proto's AdminService; AdminKeyService is socket-only).
 */
export function loadOwnFileDescriptors(file = findDescriptorFile(), servedServices: readonly string[] = []): Buffer[] {
  const set = FileDescriptorSet.decode(readFileSync(file)) as unknown as {
    file: Array<{ package?: string; service?: Array<{ name?: string }> }>;
  };
  const served = new Set(servedServices);
  return set.file
    .filter(
      (f) =>
        !(f.package ?? '').startsWith('catsyphon.admin.') ||
        (f.service ?? []).some((s) => served.has(`${f.package}.${s.name}`)),
    )
    .map((f) => Buffer.from(FileDescriptorProto.encode(f).finish()));
}

/**
 * Registers gRPC server reflection (v1 and v1alpha). Our own services are
 * described from buf's descriptors, not from protobufjs: protobufjs renames
 * map entry types, which makes grpcurl reject every message with a map.
 * Health and reflection have no maps, so proto-loader's view of them is fine.
 */
export function addReflection(server: grpc.Server, servedServices: readonly string[] = []): ReflectionService {
  const own = loadOwnFileDescriptors(undefined, servedServices);
  const loaderOptions = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
  const health = protoLoader.loadSync(healthProtoPath, loaderOptions);
  const reflectionDir = path.join(path.dirname(require.resolve('@grpc/reflection')), '..', 'proto');
  const reflection = protoLoader.loadSync(
    ['grpc/reflection/v1/reflection.proto', 'grpc/reflection/v1alpha/reflection.proto'],
    { ...loaderOptions, includeDirs: [reflectionDir] },
  );
  // ReflectionService only reads `fileDescriptorProtos` of each entry.
  const ownEntry = { format: 'Protocol Buffer 3 DescriptorProto', type: {}, fileDescriptorProtos: own };
  const service = new ReflectionService({
    ...health,
    ...reflection,
    'catsyphon.ingest.own': ownEntry as unknown as protoLoader.PackageDefinition[string],
  });
  service.addToServer(server);
  return service;
}
