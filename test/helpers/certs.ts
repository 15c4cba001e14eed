/**
 * Throwaway certificates for the TLS tests, made with openssl at test time (never committed): a
 * CA, and certificates it signs for nodes and clients, each for 127.0.0.1 and localhost and good
 * as server and client (peers present theirs both ways). A second CA stands for whoever is not
 * the cluster's.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** A certificate and its key, as files. */
export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

export interface TestCa extends CertFiles {
  /** A certificate this CA signs for `name` (its subject CN), with its key, in the CA's folder. */
  issue(name: string, o?: { readonly days?: number; readonly usage?: string }): CertFiles;
}

/** The openssl binary; a test that needs it fails, saying how to install it, when it is not there. */
export function opensslPath(): string {
  const found = spawnSync('sh', ['-c', 'command -v openssl'], { encoding: 'utf8' });
  const p = found.stdout.trim();
  if (found.status !== 0 || p === '') throw new Error('openssl is not installed; the TLS tests make their certificates with it: apt-get install -y openssl');
  return p;
}

function openssl(args: readonly string[]): void {
  execFileSync(opensslPath(), [...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A new CA in `dir` (its files named `<name>.pem` and `<name>.key`). */
export function makeCa(dir: string, name = 'ca'): TestCa {
  fs.mkdirSync(dir, { recursive: true });
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}.key`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=raftlog test ${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return {
    cert,
    key,
    issue: (cn, o = {}) => {
      const out = { cert: path.join(dir, `${cn}.pem`), key: path.join(dir, `${cn}.key`) };
      const csr = path.join(dir, `${cn}.csr`);
      const ext = path.join(dir, `${cn}.ext`);
      fs.writeFileSync(ext, `subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=${o.usage ?? 'serverAuth,clientAuth'}\n`);
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', out.key, '-out', csr, '-subj', `/CN=${cn}`]);
      openssl(['x509', '-req', '-in', csr, '-CA', cert, '-CAkey', key, '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-out', out.cert, '-days', String(o.days ?? 2), '-extfile', ext]);
      return out;
    },
  };
}
