import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** A certificate and its key, as files and as PEM bytes. */
export interface CertFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });

/**
 * Makes throw-away certificates with the openssl CLI in a temp dir: a
 * self-signed CA, and server or client certificates signed by it.
 */
export class CertFactory {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'cs-certs-'));
  private serial = 0;

  ca(name: string): CertFiles {
    const keyFile = path.join(this.dir, `${name}.key`);
    const certFile = path.join(this.dir, `${name}.crt`);
    openssl(
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
        '-keyout', keyFile, '-out', certFile, '-subj', `/CN=${name}`,
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
      this.dir,
    );
    return load(certFile, keyFile);
  }

  /** A leaf for 127.0.0.1/localhost (server) or a client, signed by `ca`. */
  leaf(name: string, ca: CertFiles, usage: 'server' | 'client'): CertFiles {
    const keyFile = path.join(this.dir, `${name}.key`);
    const csr = path.join(this.dir, `${name}.csr`);
    const certFile = path.join(this.dir, `${name}.crt`);
    const ext = path.join(this.dir, `${name}.ext`);
    writeFileSync(
      ext,
      usage === 'server'
        ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'
        : 'extendedKeyUsage=clientAuth\n',
    );
    openssl(
      ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', keyFile, '-out', csr, '-subj', `/CN=${name}`],
      this.dir,
    );
    openssl(
      ['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', String(++this.serial + 1000),
        '-days', '2', '-out', certFile, '-extfile', ext],
      this.dir,
    );
    return load(certFile, keyFile);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function load(certFile: string, keyFile: string): CertFiles {
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}
