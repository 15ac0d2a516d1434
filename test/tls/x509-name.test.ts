/**
 * x509NameOf against the real thing: certificates made by openssl (and a few with value types
 * openssl will not write, built by re-encoding an openssl certificate's subject), their subject
 * DN printed by Java's X500Principal.getName(), compared byte for byte.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { x509NameOf, x509NameOfPeer } from '../../src/auth/x509-name.js';
import { children, readTlv } from '../../src/auth/der.js';
import { Pki, type KeyPair } from './pki.js';

const JAVA_SOURCE = `
import java.io.FileInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Base64;

public class PrintSubject {
  public static void main(String[] args) throws Exception {
    CertificateFactory f = CertificateFactory.getInstance("X.509");
    for (String file : args) {
      try (FileInputStream in = new FileInputStream(file)) {
        X509Certificate c = (X509Certificate) f.generateCertificate(in);
        String name = c.getSubjectX500Principal().getName();
        // Base64 of the UTF-8 bytes: the console's charset cannot garble it.
        System.out.println(Base64.getEncoder().encodeToString(name.getBytes(StandardCharsets.UTF_8)));
      }
    }
  }
}
`;

/** What Java says each certificate file's subject is (one JVM for all of them). */
function javaNames(dir: string, files: string[]): string[] {
  const source = join(dir, 'PrintSubject.java');
  writeFileSync(source, JAVA_SOURCE);
  // No skip when Java is missing: execFileSync throws and the suite fails, saying why.
  const out = execFileSync('java', [source, ...files], { encoding: 'utf8', timeout: 120_000 });
  return out.trim().split('\n').map((line) => Buffer.from(line, 'base64').toString('utf8'));
}

function tlv(tag: number, content: Uint8Array): Buffer {
  const n = content.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), content]);
}
const seq = (...parts: Buffer[]): Buffer => tlv(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]): Buffer => tlv(0x31, Buffer.concat(parts));
function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(BigInt);
  const body: number[] = [];
  for (const arc of [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)]) {
    const groups: number[] = [];
    let v = arc;
    do {
      groups.unshift(Number(v & 0x7fn));
      v >>= 7n;
    } while (v > 0n);
    body.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return tlv(0x06, Buffer.from(body));
}
const ava = (type: string, value: Buffer): Buffer => seq(oid(type), value);

/** `base` with its subject Name replaced by `name` (the signature no longer verifies; nobody checks it here). */
function withSubject(base: Buffer, name: Buffer): Buffer {
  const cert = readTlv(base, 0);
  const [tbs, sigAlg, sig] = children(base, cert);
  const fields = children(base, tbs!).map((f) => base.subarray(f.start, f.end));
  fields[5] = name; // version, serial, signature, issuer, validity, subject
  return seq(seq(...fields), base.subarray(sigAlg!.start, sigAlg!.end), base.subarray(sig!.start, sig!.end));
}

function pem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
}

const OPENSSL_SUBJECTS: string[] = [
  '/CN=alice',
  '/C=US/ST=California/L=San Francisco/O=Acme, Inc./OU=eng/CN=alice',
  '/CN=a,b',
  '/CN=x\\+y',
  '/CN=#hash',
  '/CN=a=b;c<d>e"f\\\\g',
  '/CN= leading and trailing ',
  '/O=acme/OU=eng+CN=bob+UID=bob1',
  '/CN=bob/emailAddress=bob@example.com',
  '/DC=com/DC=example/CN=carol',
  '/CN=zoë/O=Ünïcødé/OU=日本語',
  '/CN=😀 emoji',
  '/street=1 Main St/serialNumber=12345/title=boss/GN=Ann/SN=Lee/1.2.3.4.5=custom',
];

describe('x509NameOf matches Java X500Principal.getName()', () => {
  const pki = new Pki('zgate-x509-');
  const certs: { label: string; file: string; der: Buffer }[] = [];

  beforeAll(() => {
    const ca = pki.ca('name-ca');
    OPENSSL_SUBJECTS.forEach((subject, i) => {
      const pair = pki.leaf(`subj-${i}`, ca, { subject });
      certs.push({ label: subject, file: pair.cert, der: pki.der(pair) });
    });
    // Latin-1 characters become a T61String under openssl's default mask, BMPString under pkix.
    const t61 = pki.leaf('t61', ca, { subject: '/CN=café/O=naïve', reqConfig: 'string_mask = default' });
    const bmp = pki.leaf('bmp', ca, { subject: '/CN=Ωmega/O=ascii', reqConfig: 'string_mask = pkix' });
    for (const [label, pair] of [['T61String', t61], ['BMPString', bmp]] as [string, KeyPair][]) certs.push({ label, file: pair.cert, der: pki.der(pair) });

    const base = certs[0]!.der;
    const crafted: [string, Buffer][] = [
      ['CN as INTEGER, O as BIT STRING', seq(set(ava('2.5.4.3', tlv(0x02, Buffer.from([0x05])))), set(ava('2.5.4.10', tlv(0x03, Buffer.from([0x00, 0xff])))))],
      ['OCTET STRING under OU, NUL and CR in a UTF8String', seq(set(ava('2.5.4.11', tlv(0x04, Buffer.from('raw')))), set(ava('2.5.4.3', tlv(0x0c, Buffer.from('a\u0000b\r')))))],
      ['IA5String CN, GeneralString L, invalid UTF-8 in a T61String', seq(set(ava('2.5.4.3', tlv(0x16, Buffer.from('ia5 ')))), set(ava('2.5.4.7', tlv(0x1b, Buffer.from('gen')))), set(ava('2.5.4.10', tlv(0x14, Buffer.from([0x41, 0xe9, 0x42, 0xc3])))))],
      ['a large OID arc, an empty value, a three-valued RDN in encoding order', seq(set(ava('2.25.329800735698586629295641978511506172918', tlv(0x0c, Buffer.from('uuid')))), set(ava('2.5.4.3', tlv(0x0c, Buffer.alloc(0)))), set(ava('2.5.4.11', tlv(0x0c, Buffer.from('z'))), ava('2.5.4.3', tlv(0x0c, Buffer.from('y'))), ava('0.9.2342.19200300.100.1.1', tlv(0x13, Buffer.from('x')))))],
      ['all spaces', seq(set(ava('2.5.4.3', tlv(0x0c, Buffer.from('   ')))))],
    ];
    crafted.forEach(([label, name], i) => {
      const der = withSubject(base, name);
      const file = join(pki.dir, `crafted-${i}.crt`);
      writeFileSync(file, pem(der));
      certs.push({ label, file, der });
    });
  });

  afterAll(() => pki.remove());

  it('gives Java\'s string for every subject', () => {
    const expected = javaNames(pki.dir, certs.map((c) => c.file));
    expect(expected).toHaveLength(certs.length);
    const got = certs.map((c) => ({ label: c.label, dn: x509NameOf(c.der) }));
    expect(got).toEqual(certs.map((c, i) => ({ label: c.label, dn: expected[i] })));
    // A few spelled out, so that a reader sees what Java does.
    expect(got[2]!.dn).toBe('CN=a\\,b');
    expect(got[4]!.dn).toBe('CN=\\#hash');
    expect(got[8]!.dn).toMatch(/^1\.2\.840\.113549\.1\.9\.1=#16[0-9a-f]+,CN=bob$/);
  });

  it('reads the DN of the certificate a TLS client presented', async () => {
    const ca = pki.ca('peer-ca');
    const server = pki.leaf('peer-server', ca, { san: 'IP:127.0.0.1' });
    const client = pki.leaf('peer-client', ca, { subject: '/O=acme/OU=eng+CN=dana' });
    const seen = new Promise<string | undefined>((resolve) => {
      const srv = createServer({ cert: server.certPem, key: server.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true }, (s: TLSSocket) => {
        resolve(x509NameOfPeer(s.getPeerCertificate()));
        s.end();
        srv.close();
      });
      srv.listen(0, '127.0.0.1', () => {
        const c = connect({ host: '127.0.0.1', port: (srv.address() as AddressInfo).port, ca: ca.certPem, cert: client.certPem, key: client.keyPem });
        c.on('error', () => undefined);
        c.resume();
      });
    });
    const [java] = javaNames(pki.dir, [client.cert]);
    expect(await seen).toBe(java);
    expect(java).toBe('OU=eng+CN=dana,O=acme');
  });

  it('says undefined for a peer without a certificate', () => {
    expect(x509NameOfPeer({})).toBeUndefined();
    expect(x509NameOfPeer(null)).toBeUndefined();
  });
});
