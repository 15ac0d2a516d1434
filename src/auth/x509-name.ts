/**
 * The subject DN of an X.509 certificate exactly as Java's `X500Principal.getName()` writes it
 * (RFC 2253, as sun.security.x509.AVA and RDN build it), because that string is ZooKeeper's
 * `x509` id and ACLs written for a ZooKeeper ensemble must match here unchanged. Node's own
 * `subject` is OpenSSL's rendering, which differs (order, escaping, keywords), so the DER is
 * read directly.
 */
import type { PeerCertificate } from 'node:tls';
import { children, decodeOid, expectTlv, readTlv, TAG, type Tlv } from './der.js';

/** The attribute types Java names in RFC 2253 output; every other type is written as its OID. */
const RFC2253_KEYWORDS: ReadonlyMap<string, string> = new Map([
  ['2.5.4.3', 'CN'],
  ['2.5.4.6', 'C'],
  ['2.5.4.7', 'L'],
  ['2.5.4.8', 'ST'],
  ['2.5.4.10', 'O'],
  ['2.5.4.11', 'OU'],
  ['2.5.4.9', 'STREET'],
  ['0.9.2342.19200300.100.1.25', 'DC'],
  ['0.9.2342.19200300.100.1.1', 'UID'],
]);

/** The value types Java renders as text (AVA.isDerString, non-canonical); others become `#hex`. */
const STRING_TAGS: ReadonlySet<number> = new Set([TAG.PRINTABLE_STRING, TAG.T61_STRING, TAG.IA5_STRING, TAG.GENERAL_STRING, TAG.UTF8_STRING, TAG.BMP_STRING]);

/** Escaped with a backslash wherever they occur (Java escapes '=' and '#' too, not only a leading '#'). */
const ESCAPED = new Set([',', '=', '+', '<', '>', '#', ';', '"', '\\']);

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** The subject Name of a DER certificate, as its TLV. */
function subjectName(der: Uint8Array): Tlv {
  const cert = expectTlv(der, 0, TAG.SEQUENCE, 'Certificate');
  const tbs = expectTlv(der, cert.contentStart, TAG.SEQUENCE, 'TBSCertificate', cert.end);
  const fields = children(der, tbs);
  // version [0] is optional (absent for v1); then serialNumber, signature, issuer, validity, subject.
  const first = fields[0]?.tag === TAG.CONTEXT_0 ? 1 : 0;
  const subject = fields[first + 4];
  if (subject === undefined || subject.tag !== TAG.SEQUENCE) throw new Error('certificate has no subject Name');
  return subject;
}

function hex(der: Uint8Array, from: number, to: number): string {
  return Buffer.from(der.subarray(from, to)).toString('hex');
}

/** A string value's text with RFC 2253's escapes, as AVA.toRFC2253String escapes it. */
function escapeValue(text: string): string {
  let escaped = '';
  for (const c of text) {
    if (ESCAPED.has(c)) escaped += '\\' + c;
    else if (c === '\u0000') escaped += '\\00';
    else escaped += c;
  }
  // Leading and trailing spaces (and carriage returns) are escaped one by one.
  const blank = (c: string): boolean => c === ' ' || c === '\r';
  const chars = [...escaped];
  let lead = 0;
  while (lead < chars.length && blank(chars[lead]!)) lead++;
  let trail = chars.length - 1;
  while (trail >= 0 && blank(chars[trail]!)) trail--;
  return chars.map((c, i) => (i < lead || i > trail ? '\\' + c : c)).join('');
}

function attributeTypeAndValue(der: Uint8Array, ava: Tlv): string {
  if (ava.tag !== TAG.SEQUENCE) throw new Error('malformed AttributeTypeAndValue');
  const type = expectTlv(der, ava.contentStart, TAG.OID, 'attribute type', ava.end);
  const value = readTlv(der, type.end, ava.end);
  const oid = decodeOid(der, type);
  const keyword = RFC2253_KEYWORDS.get(oid);
  if (keyword === undefined || !STRING_TAGS.has(value.tag)) return `${keyword ?? oid}=#${hex(der, value.start, value.end)}`;
  // Java reads every string type's content octets as UTF-8, BMPString and T61String included.
  return `${keyword}=${escapeValue(utf8.decode(der.subarray(value.contentStart, value.end)))}`;
}

/** The subject DN of a DER certificate, most specific RDN first, as Java's X500Principal.getName(). */
export function x509NameOf(der: Uint8Array): string {
  const name = subjectName(der);
  const rdns = children(der, name).map((rdn) => {
    if (rdn.tag !== TAG.SET) throw new Error('malformed RelativeDistinguishedName');
    return children(der, rdn)
      .map((ava) => attributeTypeAndValue(der, ava))
      .join('+');
  });
  return rdns.reverse().join(',');
}

/**
 * The DN of a TLS peer's certificate (`socket.getPeerCertificate()`), or undefined when the
 * peer sent none (Node then returns an empty object).
 */
export function x509NameOfPeer(cert: PeerCertificate | Record<string, never> | null | undefined): string | undefined {
  if (cert === null || cert === undefined || !('raw' in cert) || !(cert.raw instanceof Uint8Array)) return undefined;
  return x509NameOf(cert.raw);
}
