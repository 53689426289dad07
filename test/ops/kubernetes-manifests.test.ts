import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config/config';
import { SESSION_INGESTION } from '../../src/grpc/services/session-ingestion.grpc';
import { instructionsOf, parseDockerfile } from '../helpers/dockerfile';

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are untyped YAML */
type Manifest = Record<string, any>;

const dir = path.resolve(__dirname, '..', '..', 'deploy', 'kubernetes');
const defaults = loadConfig({});

function load(): { file: string; doc: Manifest }[] {
  const out: { file: string; doc: Manifest }[] = [];
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
    for (const doc of parseAllDocuments(readFileSync(path.join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      out.push({ file, doc: doc.toJS() as Manifest });
    }
  }
  return out;
}

describe('deploy/kubernetes manifests', () => {
  const manifests = load();
  const byKind = (kind: string) => manifests.filter((m) => m.doc.kind === kind).map((m) => m.doc);
  const one = (kind: string, name?: string) => {
    const found = byKind(kind).filter((d) => name === undefined || d.metadata.name === name);
    expect(found).toHaveLength(1);
    return found[0];
  };
  const deployment = one('Deployment');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const configMap = one('ConfigMap');
  const settings: Record<string, string> = configMap.data;
  const port = (name: string) => container.ports.find((p: Manifest) => p.name === name)?.containerPort;
  const dataDir = settings.DATA_DIR ?? defaults.database.dataDir;

  test('every file parses, every object has apiVersion, kind and name, and kustomization lists every file', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(10);
    for (const { file, doc } of manifests) {
      expect([file, typeof doc.apiVersion, typeof doc.kind]).toEqual([file, 'string', 'string']);
      if (doc.kind !== 'Kustomization') expect([file, typeof doc.metadata?.name]).toEqual([file, 'string']);
    }
    const kustomization = one('Kustomization');
    const files = new Set(manifests.map((m) => m.file));
    files.delete('kustomization.yaml');
    expect(new Set(kustomization.resources)).toEqual(files);
    expect(kustomization.images.map((i: Manifest) => i.name)).toContain(container.image);
  });

  test('the ConfigMap holds only real config variables, and they validate', () => {
    const known = new Set([...CONFIG_VARIABLES, 'NODE_OPTIONS']);
    expect(Object.keys(settings).filter((k) => !known.has(k))).toEqual([]);
    // TLS files exist only in the pod; everything else goes through loadConfig.
    const withoutFiles = Object.fromEntries(Object.entries(settings).filter(([k]) => !k.startsWith('TLS_')));
    const config = loadConfig(withoutFiles);
    expect(config.grpc.port).toBe(defaults.grpc.port);
    expect(config.metrics.port).toBe(defaults.metrics.port);
    expect(config.otlp.httpPort).toBe(defaults.otlp.httpPort);
    expect(config.database.migrateOnStart).toBe(false); // the migration Job migrates
    expect(config.grpc.maxConnectionAgeMs).toBeGreaterThan(0);
  });

  test('Deployment: replicas, ports matching the config defaults, native gRPC probes', () => {
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(Object.keys(deployment.spec.selector.matchLabels).length).toBeGreaterThan(0);
    expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
    expect(port('grpc')).toBe(defaults.grpc.port);
    expect(port('metrics')).toBe(defaults.metrics.port);
    expect(port('otlp-http')).toBe(defaults.otlp.httpPort);
    expect(Number(deployment.spec.template.metadata.annotations['prometheus.io/port'])).toBe(defaults.metrics.port);
    expect(envFromNames(container)).toEqual(expect.arrayContaining([configMap.metadata.name]));

    // TLS on 4317 means probes go to the plaintext HEALTH_PORT; without TLS, to 4317.
    const tlsOn = settings.TLS_CERT_FILE !== undefined;
    const probePort = tlsOn ? Number(settings.HEALTH_PORT) : defaults.grpc.port;
    if (tlsOn) expect(port('grpc-health')).toBe(probePort);
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      expect([probe, container[probe].grpc.port]).toEqual([probe, probePort]);
    }
    expect(['', SESSION_INGESTION]).toContain(container.readinessProbe.grpc.service ?? '');
    expect(container.livenessProbe.grpc.service ?? '').toBe('');
    // The image's CMD runs the server: the Deployment must not replace it.
    expect(container.command).toBeUndefined();
    expect(container.args).toBeUndefined();
  });

  test('Deployment: graceful shutdown fits terminationGracePeriodSeconds', () => {
    const graceMs = loadConfig({ SHUTDOWN_GRACE_MS: settings.SHUTDOWN_GRACE_MS }).shutdownGraceMs;
    const preStop = container.lifecycle.preStop.exec.command as string[];
    expect(preStop[0]).toBe('sleep');
    const preStopSeconds = Number(preStop[1]);
    expect(preStopSeconds).toBeGreaterThan(0);
    // preStop + drain + at least 5 s to close the database and exit.
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(preStopSeconds + graceMs / 1000 + 5);
  });

  test('Deployment: resources, non-root, read-only root filesystem with emptyDirs for DATA_DIR and /tmp', () => {
    for (const kind of ['requests', 'limits']) {
      expect(container.resources[kind]).toEqual(expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }));
    }
    const dockerUser = instructionsOf(parseDockerfile(path.resolve(dir, '..', '..', 'Dockerfile')).at(-1)!, 'USER').at(-1);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: Number(dockerUser?.split(':')[0]) });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    const mounts = new Map<string, string>(container.volumeMounts.map((m: Manifest) => [m.mountPath, m.name]));
    const volume = (name: string | undefined) => pod.volumes.find((v: Manifest) => v.name === name);
    expect(volume(mounts.get(dataDir))?.emptyDir).toBeDefined();
    expect(volume(mounts.get('/tmp'))?.emptyDir).toBeDefined();
  });

  test('TLS files come from the TLS Secret mount; DATABASE_URL from a Secret', () => {
    const tlsSecret = one('Secret', 'catsyphon-ingest-tls');
    expect(tlsSecret.type).toBe('kubernetes.io/tls');
    const mount = container.volumeMounts.find(
      (m: Manifest) => pod.volumes.find((v: Manifest) => v.name === m.name)?.secret?.secretName === tlsSecret.metadata.name,
    );
    for (const variable of ['TLS_CERT_FILE', 'TLS_KEY_FILE']) {
      expect(path.dirname(settings[variable])).toBe(mount.mountPath);
      expect(Object.keys(tlsSecret.data)).toContain(path.basename(settings[variable]));
    }
    const dbSecret = byKind('Secret').find((s) => s.stringData?.DATABASE_URL || s.data?.DATABASE_URL);
    expect(dbSecret).toBeDefined();
    expect(envFromNames(container)).toContain(dbSecret?.metadata.name);
  });

  test('Service is an L4 LoadBalancer on the gRPC port, selecting the Deployment pods', () => {
    const service = byKind('Service').find((s) => s.spec.type === 'LoadBalancer');
    expect(service?.spec.ports).toEqual([
      expect.objectContaining({ port: defaults.grpc.port, protocol: 'TCP', targetPort: 'grpc' }),
      expect.objectContaining({ port: defaults.otlp.httpPort, protocol: 'TCP', targetPort: 'otlp-http' }),
    ]);
    expect(deployment.spec.template.metadata.labels).toMatchObject(service?.spec.selector);
  });

  test('migration Job runs `migrate` with the same image and settings', () => {
    const job = one('Job');
    const jobContainer = job.spec.template.spec.containers[0];
    expect(jobContainer.image).toBe(container.image);
    expect(jobContainer.command.slice(0, 3)).toEqual(['node', 'dist/src/cli/main.js', 'migrate']);
    expect(envFromNames(jobContainer)).toEqual(envFromNames(container));
    expect(job.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(jobContainer.securityContext.readOnlyRootFilesystem).toBe(true);
  });

  test('PodDisruptionBudget and HPA target the Deployment and keep at least one pod', () => {
    const pdb = one('PodDisruptionBudget');
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    expect(pdb.spec.maxUnavailable ?? deployment.spec.replicas - pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
    const hpa = one('HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.maxReplicas).toBeGreaterThanOrEqual(hpa.spec.minReplicas);
  });
});

function envFromNames(container: Manifest): string[] {
  return (container.envFrom ?? []).map((e: Manifest) => e.configMapRef?.name ?? e.secretRef?.name);
}
