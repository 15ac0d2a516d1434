/**
 * Certificates for the TLS tests, made by the real openssl (/usr/bin/openssl): a CA, and leaf
 * certificates it signs with the subject and subjectAltName a test asks for. P-256 keys, so
 * that making a dozen of them takes milliseconds.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const OPENSSL = '/usr/bin/openssl';

export interface KeyPair {
  cert: string;
  key: string;
  /** The PEM texts. */
  certPem: string;
  keyPem: string;
}

export interface LeafOptions {
  /** openssl -subj syntax, e.g. /CN=alice/O=acme (default /CN=<name>). */
  subject?: string;
  /** e.g. IP:127.0.0.1,DNS:localhost */
  san?: string;
  /** Extra openssl.cnf [req] lines, e.g. string_mask = pkix. */
  reqConfig?: string;
}

export class Pki {
  readonly dir: string;
  private n = 0;

  constructor(prefix = 'zgate-pki-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
  }

  private config(extra = ''): string {
    const file = join(this.dir, `req-${++this.n}.cnf`);
    // No default extensions: a leaf must not inherit the distribution config's CA:TRUE.
    writeFileSync(file, `[req]\ndistinguished_name = dn\n${extra}\n[dn]\n`);
    return file;
  }

  openssl(args: string[]): string {
    return execFileSync(OPENSSL, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  private read(name: string): KeyPair {
    const cert = join(this.dir, `${name}.crt`);
    const key = join(this.dir, `${name}.key`);
    return { cert, key, certPem: readFileSync(cert, 'utf8'), keyPem: readFileSync(key, 'utf8') };
  }

  /** A self-signed CA. */
  ca(name: string): KeyPair {
    this.openssl([
      'req', '-x509', '-config', this.config(), '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', join(this.dir, `${name}.key`), '-out', join(this.dir, `${name}.crt`), '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    return this.read(name);
  }

  /** A leaf certificate signed by `ca` (or self-signed without one), usable as server and client. */
  leaf(name: string, ca: KeyPair | undefined, o: LeafOptions = {}): KeyPair {
    const args = [
      'req', '-x509', '-config', this.config(o.reqConfig), '-utf8', '-multivalue-rdn', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', join(this.dir, `${name}.key`), '-out', join(this.dir, `${name}.crt`), '-days', '2', '-subj', o.subject ?? `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth,clientAuth',
    ];
    if (o.san !== undefined) args.push('-addext', `subjectAltName=${o.san}`);
    if (ca !== undefined) args.push('-CA', ca.cert, '-CAkey', ca.key);
    this.openssl(args);
    return this.read(name);
  }

  /** The DER bytes of a PEM certificate file. */
  der(pair: KeyPair): Buffer {
    const b64 = pair.certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    return Buffer.from(b64, 'base64');
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
