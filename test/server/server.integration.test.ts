import * as grpc from '@grpc/grpc-js';
import { ReflectionClient } from '../helpers/reflection-client';
import { startTestApp, type TestApp } from '../helpers/test-app';

describe('gRPC server: health and reflection', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  test('health answers SERVING for the server and for SessionIngestion, without a key', async () => {
    expect(await t.health('')).toBe('SERVING');
    expect(await t.health('catsyphon.telemetry.v1.SessionIngestion')).toBe('SERVING');
    await expect(t.health('no.such.Service')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  test.each(['v1', 'v1alpha'] as const)('reflection %s lists every service without a key', async (version) => {
    const reflection = new ReflectionClient(t.address, version);
    try {
      const services = await reflection.listServices();
      expect(services).toEqual(
        expect.arrayContaining([
          'catsyphon.telemetry.v1.SessionIngestion',
          'grpc.health.v1.Health',
          'grpc.reflection.v1.ServerReflection',
          'grpc.reflection.v1alpha.ServerReflection',
        ]),
      );
    } finally {
      reflection.close();
    }
  });

  test('reflection describes every message, with map entries named as Go protobuf (grpcurl) requires', async () => {
    const reflection = new ReflectionClient(t.address);
    try {
      const files = await reflection.fileContainingSymbol('catsyphon.telemetry.v1.SessionIngestion');
      const sessions = files.find((f) => f.name === 'catsyphon/telemetry/v1/sessions.proto');
      expect(sessions).toBeDefined();
      expect(sessions.messageType).toHaveLength(19);
      let maps = 0;
      for (const message of sessions.messageType) {
        for (const field of message.field) {
          const entryName = field.typeName?.split('.').pop();
          const nested = message.nestedType.find((n: any) => n.name === entryName);
          if (!nested?.options?.mapEntry) continue;
          maps++;
          const camel = field.name.replace(/_([a-z])/g, (_: string, c: string) => c.toUpperCase());
          expect(entryName).toBe(`${camel[0].toUpperCase()}${camel.slice(1)}Entry`);
          expect(field.typeName).toBe(`.catsyphon.telemetry.v1.${message.name}.${entryName}`);
        }
      }
      expect(maps).toBe(6);
      for (const symbol of ['catsyphon.telemetry.v1.Message', 'catsyphon.telemetry.v1.ExportSessionsResponse']) {
        const found = await reflection.fileContainingSymbol(symbol);
        expect(found.map((f) => f.name)).toContain('catsyphon/telemetry/v1/sessions.proto');
      }
    } finally {
      reflection.close();
    }
  });
});
