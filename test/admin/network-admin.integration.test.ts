import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { FileDescriptorSet } from 'protobufjs/ext/descriptor';
import { SessionQueryServiceClient } from '../../generated/catsyphon/ingest/v1/query';
import type { ExportSessionsResponse } from '../../generated/catsyphon/telemetry/v1/sessions';
import { AdminCallError, networkAdmin } from '../../src/admin/admin.client';
import type { AdminApi } from '../../src/admin/admin-api';
import { bearer, CountingHasher, exportStatus } from '../helpers/auth-fixtures';
import { ReflectionClient } from '../helpers/reflection-client';
import { startTestApp, type TestApp } from '../helpers/test-app';

/**
 * The admin service on the gRPC port (ADMIN_API=on), called with admin keys
 * through the CLI's own network client, on the real app and database.
 */
const SLOW = 120_000;

async function code(work: Promise<unknown>): Promise<grpc.status> {
  try {
    await work;
    return grpc.status.OK;
  } catch (err) {
    if (err instanceof AdminCallError) return err.code;
    if (typeof (err as grpc.ServiceError).code === 'number') return (err as grpc.ServiceError).code;
    throw err;
  }
}

describe('network admin API with ADMIN_API=on', () => {
  let t: TestApp;
  const hasher = new CountingHasher(4);
  const opened: AdminApi[] = [];
  const admin = (key: string): AdminApi => {
    const api = networkAdmin({ address: t.address, adminKey: key, credentials: grpc.credentials.createInsecure() });
    opened.push(api);
    return api;
  };
  let root: AdminApi;
  let rootKey: string;
  let scopedKey: string;
  let mine: { id: string; slug: string };
  let other: { id: string; slug: string };

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_API: 'on', AUTH_FAILURE_LIMIT: '3', AUTH_CACHE_TTL_MS: '1h' }, { keyHasher: hasher });
    rootKey = (await t.app.adminKeys.create({ name: 'ops' })).key;
    root = admin(rootKey);
    mine = await root.createWorkspace({ name: 'Mine' });
    other = await root.createWorkspace({ name: 'Other' });
    scopedKey = (await t.app.adminKeys.create({ name: 'team-mine', workspace: 'mine' })).key;
  }, SLOW);
  afterAll(async () => {
    for (const api of opened) await api.close();
    await t?.close();
  });

  test('an unscoped admin key creates a workspace and a collector whose key then ingests', async () => {
    const ws = await root.createWorkspace({ name: 'Fleet', slug: 'fleet' });
    const issued = await root.createCollector({ workspace: 'fleet', name: 'laptop-1' });
    expect(issued.apiKey).toMatch(/^cs_live_/);
    expect(issued.collector.workspaceId).toBe(ws.id);
    expect((await exportStatus(t.ingestion, bearer(issued.apiKey))).code).toBe(grpc.status.OK);
    expect((await root.listCollectors('fleet')).map((c) => c.name)).toEqual(['laptop-1']);
    expect((await root.listWorkspaces()).map((w) => w.slug)).toEqual(expect.arrayContaining(['mine', 'other', 'fleet']));
  });

  test('rotate and revoke take effect at once on the serving replica, despite its auth cache', async () => {
    const issued = await root.createCollector({ workspace: mine.slug, name: 'rotating' });
    expect((await exportStatus(t.ingestion, bearer(issued.apiKey))).code).toBe(grpc.status.OK); // now cached for 1 h
    const rotated = await root.rotateKey(issued.collector.id);
    expect((await exportStatus(t.ingestion, bearer(issued.apiKey))).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((await exportStatus(t.ingestion, bearer(rotated.apiKey))).code).toBe(grpc.status.OK);
    const revoked = await root.revokeCollector(issued.collector.id);
    expect(revoked.status).toBe('revoked');
    expect((await exportStatus(t.ingestion, bearer(rotated.apiKey))).code).toBe(grpc.status.UNAUTHENTICATED);
    const updated = await root.updateCollector(issued.collector.id, { name: 'renamed' });
    expect(updated.name).toBe('renamed');
  });

  describe('a workspace-scoped admin key', () => {
    let scoped: AdminApi;
    let theirs: string;
    let ours: string;
    beforeAll(async () => {
      scoped = admin(scopedKey);
      theirs = (await root.createCollector({ workspace: other.slug, name: 'theirs' })).collector.id;
      ours = (await root.createCollector({ workspace: mine.slug, name: 'ours' })).collector.id;
    });

    test('CreateWorkspace: denied (creating workspaces needs an unscoped key)', async () => {
      expect(await code(scoped.createWorkspace({ name: 'Sneaky' }))).toBe(grpc.status.PERMISSION_DENIED);
      expect((await root.listWorkspaces()).some((w) => w.name === 'Sneaky')).toBe(false);
    });

    test('ListWorkspaces: only its own workspace', async () => {
      expect((await scoped.listWorkspaces()).map((w) => w.id)).toEqual([mine.id]);
    });

    test('CreateCollector: in its workspace yes, in another (by slug or id) or an unknown one no', async () => {
      const created = await scoped.createCollector({ workspace: mine.id, name: 'by-scoped' });
      expect(created.collector.workspaceId).toBe(mine.id);
      for (const workspace of [other.slug, other.id, 'no-such-workspace']) {
        expect(await code(scoped.createCollector({ workspace, name: 'x' }))).toBe(grpc.status.PERMISSION_DENIED);
      }
      expect((await root.listCollectors(other.slug)).map((c) => c.name)).toEqual(['theirs']);
    });

    test('ListCollectors: its own workspace only, with or without a filter', async () => {
      const all = await scoped.listCollectors();
      expect(all.length).toBeGreaterThan(0);
      expect(new Set(all.map((c) => c.workspaceId))).toEqual(new Set([mine.id]));
      expect((await scoped.listCollectors(mine.slug)).map((c) => c.id)).toEqual(all.map((c) => c.id));
      expect(await code(scoped.listCollectors(other.slug))).toBe(grpc.status.PERMISSION_DENIED);
    });

    test('RotateCollectorKey: denied on another workspace\'s collector (and an unknown id)', async () => {
      expect(await code(scoped.rotateKey(theirs))).toBe(grpc.status.PERMISSION_DENIED);
      expect(await code(scoped.rotateKey(randomUUID()))).toBe(grpc.status.PERMISSION_DENIED);
      expect((await scoped.rotateKey(ours)).apiKey).toMatch(/^cs_live_/);
    });

    test('RevokeCollector: denied on another workspace\'s collector', async () => {
      expect(await code(scoped.revokeCollector(theirs))).toBe(grpc.status.PERMISSION_DENIED);
      expect((await root.listCollectors(other.slug))[0].status).toBe('active');
    });

    test('UpdateCollector: denied on another workspace\'s collector', async () => {
      expect(await code(scoped.updateCollector(theirs, { name: 'hijacked' }))).toBe(grpc.status.PERMISSION_DENIED);
      expect((await root.listCollectors(other.slug))[0].name).toBe('theirs');
      expect((await scoped.updateCollector(ours, { name: 'ours-renamed' })).name).toBe('ours-renamed');
      expect((await scoped.revokeCollector(ours)).status).toBe('revoked');
    });
  });

  test('a collector key is refused by the admin service, an admin key by ingestion and query', async () => {
    const collectorKey = (await root.createCollector({ workspace: mine.slug, name: 'plain' })).apiKey;
    expect(await code(admin(collectorKey).listWorkspaces())).toBe(grpc.status.PERMISSION_DENIED);

    expect((await exportStatus(t.ingestion, bearer(rootKey))).code).toBe(grpc.status.PERMISSION_DENIED);
    const stream = await new Promise<grpc.status>((resolve) => {
      const call = t.ingestion.exportSessionsStream(bearer(rootKey), (err: grpc.ServiceError | null, _res?: ExportSessionsResponse) =>
        resolve(err ? err.code : grpc.status.OK),
      );
      call.end();
    });
    expect(stream).toBe(grpc.status.PERMISSION_DENIED);
    const query = new SessionQueryServiceClient(t.address, grpc.credentials.createInsecure());
    const got = await new Promise<grpc.status>((resolve) =>
      query.getSession({ sessionId: 'x', assistant: 0 }, bearer(rootKey), (err) => resolve(err ? err.code : grpc.status.OK)),
    );
    query.close();
    expect(got).toBe(grpc.status.PERMISSION_DENIED);
  });

  test('every admin call is logged with the key\'s name, never the key', async () => {
    await root.listWorkspaces();
    const lines = t.logs.lines.filter((l) => l.includes('"msg":"admin operation"'));
    expect(lines.some((l) => l.includes('"adminKey":"ops"') && l.includes('"op":"ListWorkspaces"'))).toBe(true);
    expect(lines.some((l) => l.includes('"adminKey":"team-mine"'))).toBe(true);
    expect(t.logs.text()).not.toContain(rootKey);
    expect(t.logs.text()).not.toContain(scopedKey);
  });

  test('a revoked admin key stops working at once; a wrong key is UNAUTHENTICATED', async () => {
    const temp = await t.app.adminKeys.create({ name: 'temp' });
    const api = admin(temp.key);
    expect(await code(api.listWorkspaces())).toBe(grpc.status.OK); // cached now
    await t.app.adminKeys.revoke(temp.adminKey.id);
    expect(await code(api.listWorkspaces())).toBe(grpc.status.UNAUTHENTICATED);
    expect(await code(admin('cs_admin_nope').listWorkspaces())).toBe(grpc.status.UNAUTHENTICATED);
  });

  test('the data-lifecycle RPCs are not served on the gRPC port (admin socket only)', async () => {
    expect(await code(root.lifecycle.listBatches({}))).toBe(grpc.status.UNIMPLEMENTED);
    expect(await code(root.lifecycle.deleteWorkspace(other.slug, { dryRun: true, actor: 'test' }))).toBe(grpc.status.UNIMPLEMENTED);
  });

  test('failed admin authentications are throttled per key prefix; unknown prefixes cost no bcrypt; a valid key is never locked out', async () => {
    const victim = await t.app.adminKeys.create({ name: 'victim' });
    const api = admin(victim.key);
    expect(await code(api.listWorkspaces())).toBe(grpc.status.OK);
    // Wrong keys under the victim's prefix: each costs one compare until the budget (3) is spent.
    const body = victim.key.slice('cs_admin_'.length);
    const wrong = (i: number) => `cs_admin_${body.slice(0, 12)}${String(i).padStart(4, '0')}${body.slice(16)}`;
    const before = hasher.compares;
    const codes: grpc.status[] = [];
    for (let i = 0; i < 6; i++) codes.push(await code(admin(wrong(i)).listWorkspaces()));
    expect(codes.slice(0, 3)).toEqual(Array(3).fill(grpc.status.UNAUTHENTICATED));
    expect(codes.slice(3)).toEqual(Array(3).fill(grpc.status.RESOURCE_EXHAUSTED));
    expect(hasher.compares - before).toBe(3);
    // The owner still gets in (cached), and so does a fresh client of the same key.
    expect(await code(api.listWorkspaces())).toBe(grpc.status.OK);
    expect(await code(admin(victim.key).listWorkspaces())).toBe(grpc.status.OK);
    // Random keys with unknown prefixes: UNAUTHENTICATED, never throttled, no bcrypt.
    const compares = hasher.compares;
    for (let i = 0; i < 5; i++) {
      const random = `cs_admin_${randomUUID().replace(/-/g, '').padEnd(43, 'x').slice(0, 43)}`;
      expect(await code(admin(random).listWorkspaces())).toBe(grpc.status.UNAUTHENTICATED);
    }
    expect(hasher.compares).toBe(compares);
  });

  test('reflection lists the admin service (not the socket-only AdminKeyService), and health knows it', async () => {
    const reflection = new ReflectionClient(t.address);
    try {
      const services = await reflection.listServices();
      expect(services).toContain('catsyphon.admin.v1.AdminService');
      expect(services).not.toContain('catsyphon.admin.v1.AdminKeyService');
      const files = await reflection.fileContainingSymbol('catsyphon.admin.v1.AdminService');
      expect(files.map((f) => f.name)).toContain('catsyphon/admin/v1/admin.proto');
    } finally {
      reflection.close();
    }
    expect(await t.health('catsyphon.admin.v1.AdminService')).toBe('SERVING');
  });

  test('grpcurl\'s way: a client built only from the reflected descriptor creates a collector whose key ingests', async () => {
    // What `grpcurl -H "authorization: Bearer $KEY" -d '{"workspace":"fleet-2","name":"laptop-2"}'
    // host:4317 catsyphon.admin.v1.AdminService/CreateCollector` does: fetch the descriptor over
    // reflection, then call with JSON field names.
    await root.createWorkspace({ name: 'Fleet 2', slug: 'fleet-2' });
    const reflection = new ReflectionClient(t.address);
    let files: object[];
    try {
      files = await reflection.fileContainingSymbol('catsyphon.admin.v1.AdminService');
    } finally {
      reflection.close();
    }
    const set = FileDescriptorSet.encode(FileDescriptorSet.fromObject({ file: files })).finish();
    const definition = protoLoader.loadFileDescriptorSetFromBuffer(Buffer.from(set), { keepCase: true, longs: String, defaults: true });
    const AdminService = grpc.loadPackageDefinition(definition).catsyphon as any;
    const client = new AdminService.admin.v1.AdminService(t.address, grpc.credentials.createInsecure()) as grpc.Client &
      Record<string, (req: object, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: any) => void) => void>;
    try {
      expect(Object.keys(definition['catsyphon.admin.v1.AdminService'] as object)).toEqual(
        expect.arrayContaining(['CreateCollector', 'CreateWorkspace', 'ListCollectors', 'ListWorkspaces', 'RevokeCollector', 'RotateCollectorKey', 'UpdateCollector']),
      );
      const res = await new Promise<any>((resolve, reject) =>
        client.CreateCollector({ workspace: 'fleet-2', name: 'laptop-2' }, bearer(rootKey), (err, out) => (err ? reject(err) : resolve(out))),
      );
      expect(res.collector).toMatchObject({ name: 'laptop-2', workspace_slug: 'fleet-2', status: 'active' });
      expect(res.api_key).toMatch(/^cs_live_/);
      expect((await exportStatus(t.ingestion, bearer(res.api_key))).code).toBe(grpc.status.OK);
    } finally {
      client.close();
    }
  });
});

describe('admin authentication without a cache (AUTH_CACHE_TTL_MS=0)', () => {
  let t: TestApp;
  const hasher = new CountingHasher(4);
  beforeAll(async () => {
    t = await startTestApp({ ADMIN_API: 'on', AUTH_CACHE_TTL_MS: '0', AUTH_FAILURE_LIMIT: '2' }, { keyHasher: hasher });
  }, SLOW);
  afterAll(async () => {
    await t?.close();
  });

  test('a flood of wrong keys under a valid key\'s prefix throttles them, never the valid key (verified each call)', async () => {
    const victim = await t.app.adminKeys.create({ name: 'victim' });
    const call = async (key: string) => {
      const api = networkAdmin({ address: t.address, adminKey: key, credentials: grpc.credentials.createInsecure() });
      try {
        return await code(api.listWorkspaces());
      } finally {
        await api.close();
      }
    };
    expect(await call(victim.key)).toBe(grpc.status.OK);
    const body = victim.key.slice('cs_admin_'.length);
    const wrong = (i: number) => `cs_admin_${body.slice(0, 12)}${String(i).padStart(4, '0')}${body.slice(16)}`;
    const codes: grpc.status[] = [];
    for (let i = 0; i < 5; i++) codes.push(await call(wrong(i)));
    expect(codes).toEqual([
      grpc.status.UNAUTHENTICATED,
      grpc.status.UNAUTHENTICATED,
      grpc.status.RESOURCE_EXHAUSTED,
      grpc.status.RESOURCE_EXHAUSTED,
      grpc.status.RESOURCE_EXHAUSTED,
    ]);
    const compares = hasher.compares;
    expect(await call(victim.key)).toBe(grpc.status.OK);
    expect(hasher.compares).toBe(compares + 1); // really verified again, not served from a cache
  });
});

describe('ADMIN_API off (the default)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({}, { keyHasher: new CountingHasher(4) });
  }, SLOW);
  afterAll(async () => {
    await t?.close();
  });

  test('the admin service is not served (UNIMPLEMENTED) and not listed by reflection', async () => {
    const key = (await t.app.adminKeys.create({ name: 'ops' })).key;
    const api = networkAdmin({ address: t.address, adminKey: key, credentials: grpc.credentials.createInsecure() });
    try {
      expect(await code(api.listWorkspaces())).toBe(grpc.status.UNIMPLEMENTED);
      expect(await code(api.createWorkspace({ name: 'x' }))).toBe(grpc.status.UNIMPLEMENTED);
    } finally {
      await api.close();
    }
    const reflection = new ReflectionClient(t.address);
    try {
      const services = await reflection.listServices();
      expect(services).toContain('catsyphon.telemetry.v1.SessionIngestion');
      expect(services.filter((s) => s.startsWith('catsyphon.admin.'))).toEqual([]);
      await expect(reflection.fileContainingSymbol('catsyphon.admin.v1.AdminService')).rejects.toThrow();
    } finally {
      reflection.close();
    }
  });
});
