import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { FileDescriptorProto } from 'protobufjs/ext/descriptor';

const reflectionDir = path.join(path.dirname(require.resolve('@grpc/reflection')), '..', 'proto');

/** A minimal grpcurl stand-in: talks server reflection v1 or v1alpha over a real socket. */
export class ReflectionClient {
  private readonly client: grpc.Client & Record<string, any>;

  constructor(address: string, version: 'v1' | 'v1alpha' = 'v1') {
    const def = grpc.loadPackageDefinition(
      protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, { includeDirs: [reflectionDir], keepCase: true }),
    ) as any;
    this.client = new def.grpc.reflection[version].ServerReflection(address, grpc.credentials.createInsecure());
  }

  private ask(request: object): Promise<any> {
    return new Promise((resolve, reject) => {
      const call = this.client.ServerReflectionInfo();
      call.on('data', (res: any) => {
        resolve(res);
        call.end();
      });
      call.on('error', reject);
      call.write(request);
    });
  }

  async listServices(): Promise<string[]> {
    const res = await this.ask({ list_services: '' });
    if (res.error_response) throw new Error(res.error_response.error_message);
    return res.list_services_response.service.map((s: { name: string }) => s.name);
  }

  /** The decoded FileDescriptorProtos the server returns for a symbol. */
  async fileContainingSymbol(symbol: string): Promise<any[]> {
    const res = await this.ask({ file_containing_symbol: symbol });
    if (res.error_response) throw new Error(res.error_response.error_message);
    return res.file_descriptor_response.file_descriptor_proto.map((b: Buffer) => FileDescriptorProto.decode(b));
  }

  close(): void {
    this.client.close();
  }
}
