import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../src/config/config';
import { compiledBuild } from '../helpers/compiled-build';
import { instructionsOf, parseCopy, parseDockerfile, type Stage } from '../helpers/dockerfile';
import { baseEnv, type ServerProcess, spawnServer } from '../helpers/server-process';
import { createHealthClient } from '../helpers/test-app';

const repo = path.resolve(__dirname, '..', '..');
const defaults = loadConfig({});

/**
 * There is no Docker engine here, so this replays the Dockerfile: the
 * builder stage compiles a copy of the build context (.dockerignore
 * applied), the runtime stage gets `npm install --omit=dev --ignore-scripts`
 * and exactly the files the Dockerfile copies, and the server then runs as
 * a non-root user that can write nowhere but DATA_DIR.
 */
describe('container image (Dockerfile replayed without Docker)', () => {
  const stages = parseDockerfile(path.join(repo, 'Dockerfile'));
  const builder = stages[0];
  const runtime = stages[stages.length - 1];

  test('the Dockerfile is multi-stage on node:20-slim, non-root, with the right ports, signal and command', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.from).toBe('node:20-slim');
    const user = instructionsOf(runtime, 'USER').at(-1) ?? '';
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/); // numeric, so runAsNonRoot can verify it
    expect(instructionsOf(runtime, 'EXPOSE').join(' ').split(/\s+/).map(Number)).toEqual(
      expect.arrayContaining([defaults.grpc.port, defaults.otlp.httpPort, defaults.metrics.port]),
    );
    expect(instructionsOf(runtime, 'STOPSIGNAL')).toEqual(['SIGTERM']);
    expect(JSON.parse(instructionsOf(runtime, 'CMD').at(-1) ?? 'null')).toEqual(['node', 'dist/src/cli/main.js', 'serve']);
    expect(runtimeInstall(runtime)).toContain('--omit=dev');
    expect(instructionsOf(builder, 'RUN').join('\n')).toContain('npm run build');
  });

  describe('replayed', () => {
    const work = mkdtempSync(path.join(tmpdir(), 'cs-image-'));
    const appDir = path.join(work, 'app');
    const dataDir = path.join(work, 'data');
    const readOnlyTmp = path.join(work, 'tmp-readonly');
    const asRoot = process.getuid?.() === 0;
    const serviceUid = Number((instructionsOf(runtime, 'USER').at(-1) ?? '1000').split(':')[0]);
    let server: ServerProcess | undefined;

    let buildDir = '';

    beforeAll(async () => {
      chmodSync(work, 0o755);
      // Builder stage: the build context minus .dockerignore, `npm run build`.
      buildDir = await compiledBuild();
      expect(existsSync(path.join(buildDir, 'package-lock.json'))).toBe(true);
      expect(existsSync(path.join(buildDir, '.git'))).toBe(false);
      expect(existsSync(path.join(buildDir, 'dist', 'src', 'cli', 'main.js'))).toBe(true);

      // Runtime: lockfile, production install, then the COPY instructions.
      mkdirSync(appDir);
      const copies = instructionsOf(runtime, 'COPY').map(parseCopy);
      const beforeInstall = copies.filter((c) => c.sources.every((s) => s.startsWith('package')));
      for (const c of beforeInstall) for (const s of c.sources) cpSync(path.join(repo, s), path.join(appDir, s));
      const install = runtimeInstall(runtime).split(/\s+/).slice(1);
      // --prefer-offline: the same install, served from the local npm cache.
      execFileSync('npm', [...install, '--prefer-offline'], { cwd: appDir, stdio: 'pipe', env: { ...process.env, NODE_OPTIONS: '' } });
      for (const c of copies.filter((c) => !beforeInstall.includes(c))) {
        const root = c.from ? buildDir : repo;
        if (c.from) expect(c.from).toBe(builder.name);
        for (const s of c.sources) {
          const target = c.dest.startsWith('./') ? path.join(appDir, c.dest) : path.join(appDir, path.basename(s));
          cpSync(path.join(root, s.replace(/^\/app\//, '')), target, { recursive: true });
        }
      }
      expect(existsSync(path.join(appDir, 'node_modules', 'typescript'))).toBe(false);
      expect(existsSync(path.join(appDir, 'node_modules', '@grpc', 'grpc-js'))).toBe(true);

      // Read-only "root filesystem": the service user owns only DATA_DIR.
      mkdirSync(dataDir);
      mkdirSync(readOnlyTmp);
      if (asRoot) {
        chownSync(dataDir, serviceUid, serviceUid);
      } else {
        execFileSync('chmod', ['-R', 'a-w', appDir]);
        chmodSync(readOnlyTmp, 0o555);
      }
    }, 300_000);

    afterAll(async () => {
      await server?.kill();
      if (!asRoot) execFileSync('chmod', ['-R', 'u+w', work]);
      rmSync(work, { recursive: true, force: true });
    });

    test('the image starts as non-root on a read-only filesystem, answers SERVING, and exits 0 on SIGTERM', async () => {
      const listingBefore = listing(appDir);
      server = await spawnServer({
        cwd: appDir,
        uid: asRoot ? serviceUid : undefined,
        gid: asRoot ? serviceUid : undefined,
        env: {
          ...baseEnv(),
          ...imageEnv(runtime),
          // HOME and TMPDIR point at places the service cannot write.
          HOME: '/nonexistent',
          TMPDIR: readOnlyTmp,
          DATA_DIR: dataDir,
          GRPC_HOST: '127.0.0.1',
          GRPC_PORT: '0',
          METRICS_HOST: '127.0.0.1',
          METRICS_PORT: '0', OTLP_HTTP_PORT: '0',
          SHUTDOWN_GRACE_MS: '5s',
        },
      });
      const address = `127.0.0.1:${server.grpcPort}`;
      const health = createHealthClient(address);
      try {
        for (const service of ['', 'catsyphon.telemetry.v1.SessionIngestion']) {
          const status = await new Promise<string>((resolve, reject) =>
            health.check({ service }, (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res.status))),
          );
          expect(status).toBe('SERVING');
        }
      } finally {
        health.close();
      }
      const metrics = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
      expect(metrics).toContain('catsyphon_ingest_build_info{');

      server.signal('SIGTERM');
      expect(await server.exited).toBe(0);
      expect(server.lines.map((l) => l.msg)).toContain('shutdown complete');
      expect(server.lines.filter((l) => Number(l.level) >= 50)).toEqual([]);
      expect(server.rawOutput.filter((l) => /error|EACCES|EROFS/i.test(l))).toEqual([]);
      // The embedded database lives in DATA_DIR; nothing else was written.
      expect(readdirSync(dataDir)).toContain('PG_VERSION');
      expect(listing(appDir)).toEqual(listingBefore);
      expect(readdirSync(readOnlyTmp)).toEqual([]);
    }, 180_000);
  });
});

/** The runtime stage's `npm install ...` command. */
function runtimeInstall(runtime: Stage): string {
  const run = instructionsOf(runtime, 'RUN').find((r) => r.startsWith('npm install'));
  if (!run) throw new Error('runtime stage has no `RUN npm install`');
  return run.split('&&')[0].trim();
}

/** ENV of the runtime stage (`ENV A=1 B=2`). */
function imageEnv(runtime: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const args of instructionsOf(runtime, 'ENV')) {
    for (const pair of args.split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

function listing(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => !f.startsWith('node_modules')).sort();
}
