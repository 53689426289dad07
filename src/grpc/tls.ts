import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Config } from '../config/config';
import type { Logger } from '../logging/logger';

type TlsConfig = NonNullable<Config['tls']>;
type CertificateProvider = grpc.experimental.CertificateProvider;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;
type CaListener = grpc.experimental.CaCertificateUpdateListener;

interface Material {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
}

/** What operators and metrics see of the certificate being served. */
export interface ServedCertificate {
  readonly subject: string;
  readonly notAfter: Date;
  readonly fingerprint256: string;
}

/**
 * A grpc-js CertificateProvider that re-reads the certificate, key and client
 * CA files every `reloadIntervalMs` and publishes them when they changed.
 *
 * Unlike grpc-js's FileWatcherCertificateProvider it validates a new set
 * before publishing (the key matches the certificate, the PEM parses) and
 * keeps serving the last good set while a rotation is half-written. grpc-js
 * applies an update with `setSecureContext`, which only affects new TLS
 * handshakes: established connections and their in-flight calls carry on.
 */
export class ReloadingCertificateProvider implements CertificateProvider {
  private material: Material;
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly caListeners = new Set<CaListener>();
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  private lastRejected: string | undefined;

  constructor(
    private readonly config: TlsConfig,
    private readonly logger: Logger,
  ) {
    // Fail the start on a bad initial set: a server without a valid
    // certificate would only drop connections.
    try {
      this.material = validate({
        cert: readFileSync(config.certFile),
        key: readFileSync(config.keyFile),
        ca: config.clientCaFile === undefined ? undefined : readFileSync(config.clientCaFile),
      });
    } catch (err) {
      const files = ['TLS_CERT_FILE', 'TLS_KEY_FILE', ...(config.clientCaFile ? ['TLS_CLIENT_CA_FILE'] : [])];
      throw new Error(`${files.join('/')}: not a valid PEM certificate and matching key (${(err as Error).message})`);
    }
    this.logger.info({ ...this.served(), mtls: this.material.ca !== undefined }, 'TLS certificate loaded');
    this.warnIfExpired();
  }

  /** The certificate new connections are given. */
  served(): ServedCertificate {
    const x509 = new X509Certificate(this.material.cert);
    return { subject: x509.subject, notAfter: new Date(x509.validTo), fingerprint256: x509.fingerprint256 };
  }

  /** Re-reads the files now; resolves true when a new set was published. */
  async reload(): Promise<boolean> {
    if (this.reading) return false;
    this.reading = true;
    try {
      const next = {
        cert: await readFile(this.config.certFile),
        key: await readFile(this.config.keyFile),
        ca: this.config.clientCaFile === undefined ? undefined : await readFile(this.config.clientCaFile),
      };
      if (sameMaterial(next, this.material)) return false;
      this.material = validate(next);
      this.lastRejected = undefined;
      this.logger.info(this.served(), 'TLS certificate reloaded');
      this.warnIfExpired();
      this.publish();
      return true;
    } catch (err) {
      const reason = (err as Error).message;
      // Log a broken set once, not on every poll, until it changes.
      if (reason !== this.lastRejected) {
        this.logger.warn({ err: reason }, 'TLS files unreadable or invalid; still serving the previous certificate');
        this.lastRejected = reason;
      }
      return false;
    } finally {
      this.reading = false;
    }
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    this.startWatching();
    // grpc-js registers its own watcher right after this call returns.
    const { cert, key } = this.material;
    process.nextTick(() => listener({ certificate: cert, privateKey: key }));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
    this.maybeStopWatching();
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    this.startWatching();
    const { ca } = this.material;
    process.nextTick(() => listener(ca ? { caCertificate: ca } : null));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
    this.maybeStopWatching();
  }

  private warnIfExpired(): void {
    const { notAfter, subject } = this.served();
    if (notAfter.getTime() < Date.now()) this.logger.warn({ subject, notAfter }, 'TLS certificate has expired');
  }

  private publish(): void {
    const { cert, key, ca } = this.material;
    // CA first: with mTLS the new CA must be in place before a server
    // certificate that clients may only trust through it.
    for (const l of this.caListeners) l(ca ? { caCertificate: ca } : null);
    for (const l of this.identityListeners) l({ certificate: cert, privateKey: key });
  }

  private startWatching(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.reload(), this.config.reloadIntervalMs);
    this.timer.unref();
  }

  private maybeStopWatching(): void {
    if (this.identityListeners.size > 0 || this.caListeners.size > 0 || !this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

function sameMaterial(a: Material, b: Material): boolean {
  const sameCa = a.ca === undefined || b.ca === undefined ? a.ca === b.ca : a.ca.equals(b.ca);
  return a.cert.equals(b.cert) && a.key.equals(b.key) && sameCa;
}

/** Throws unless the PEMs parse and the key belongs to the certificate. */
function validate(material: Material): Material {
  createSecureContext({ cert: material.cert, key: material.key, ca: material.ca });
  new X509Certificate(material.cert);
  if (material.ca !== undefined) new X509Certificate(material.ca);
  return material;
}

export interface GrpcCredentials {
  readonly credentials: grpc.ServerCredentials;
  /** Present when TLS is on. */
  readonly certificates: ReloadingCertificateProvider | undefined;
}

/**
 * Plaintext unless TLS_CERT_FILE/TLS_KEY_FILE are set; with
 * TLS_CLIENT_CA_FILE, clients must present a certificate signed by that CA.
 */
export function createGrpcCredentials(tls: Config['tls'], logger: Logger): GrpcCredentials {
  if (!tls) return { credentials: grpc.ServerCredentials.createInsecure(), certificates: undefined };
  const provider = new ReloadingCertificateProvider(tls, logger.child({ component: 'tls' }));
  const mtls = tls.clientCaFile !== undefined;
  // grpc-js 1.14 names these parameters (ca, identity, require) but passes
  // them on as (identity, ca, require): identity first, nullable CA second.
  const credentials = grpc.experimental.createCertificateProviderServerCredentials(
    provider,
    mtls ? provider : null,
    mtls,
  );
  return { credentials, certificates: provider };
}
