/**
 * A small reader of DER (X.690's distinguished encoding): one TLV at a time, definite lengths
 * only, bounds checked against the buffer. Enough to walk a certificate to its subject Name.
 */

export interface Tlv {
  /** The identifier octet: class, constructed bit and tag number (tags above 30 are refused). */
  tag: number;
  /** Offset of the identifier octet. */
  start: number;
  /** Offset of the first content octet. */
  contentStart: number;
  /** Offset just past the last content octet. */
  end: number;
}

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  GENERAL_STRING: 0x1b,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
  /** [0] EXPLICIT, constructed: the certificate's version. */
  CONTEXT_0: 0xa0,
} as const;

export class DerError extends Error {}

export function readTlv(der: Uint8Array, offset: number, limit: number = der.length): Tlv {
  if (offset >= limit) throw new DerError(`DER: expected a value at offset ${offset}`);
  const tag = der[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`DER: high tag numbers are not supported (offset ${offset})`);
  let p = offset + 1;
  if (p >= limit) throw new DerError('DER: truncated length');
  const first = der[p++]!;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const octets = first & 0x7f;
    // 0x80 is BER's indefinite length, which DER forbids; more than 4 octets cannot fit a certificate.
    if (octets === 0 || octets > 4) throw new DerError(`DER: unsupported length form at offset ${offset}`);
    if (p + octets > limit) throw new DerError('DER: truncated length');
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[p++]!;
  }
  const end = p + length;
  if (end > limit) throw new DerError(`DER: value at offset ${offset} runs past its container`);
  return { tag, start: offset, contentStart: p, end };
}

/** The TLV at `offset`, which must have `tag`. */
export function expectTlv(der: Uint8Array, offset: number, tag: number, what: string, limit?: number): Tlv {
  const t = readTlv(der, offset, limit);
  if (t.tag !== tag) throw new DerError(`DER: ${what}: expected tag 0x${tag.toString(16)}, got 0x${t.tag.toString(16)}`);
  return t;
}

/** The elements of a constructed value (SEQUENCE, SET), in encoding order. */
export function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = parent.contentStart; p < parent.end; ) {
    const t = readTlv(der, p, parent.end);
    out.push(t);
    p = t.end;
  }
  return out;
}

/** An OBJECT IDENTIFIER's content as dotted decimal (arcs of any size). */
export function decodeOid(der: Uint8Array, t: Tlv): string {
  if (t.end === t.contentStart) throw new DerError('DER: empty OID');
  const arcs: bigint[] = [];
  let value = 0n;
  for (let p = t.contentStart; p < t.end; p++) {
    const b = der[p]!;
    value = (value << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    } else if (p === t.end - 1) {
      throw new DerError('DER: truncated OID');
    }
  }
  const head = arcs[0]!;
  const top = head < 40n ? 0n : head < 80n ? 1n : 2n;
  return [top, head - top * 40n, ...arcs.slice(1)].map(String).join('.');
}
