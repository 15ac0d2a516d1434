/**
 * The snapshot's byte encoder: msgpack values written by hand into a buffer allocated up front,
 * so that the writer can fill each section in place and in slices, and the sizes of their
 * headers, from which the sections are laid out before any of them is written.
 */
import { assert } from '../../util/assert.js';

const TWO_63 = 1n << 63n;

export function strHeaderSize(len: number): number {
  return len < 32 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 5;
}

export function binHeaderSize(len: number): number {
  return len < 0x100 ? 2 : len < 0x10000 ? 3 : 5;
}

export function arrayHeaderSize(len: number): number {
  return len < 16 ? 1 : len < 0x10000 ? 3 : 5;
}

export function uintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x100 ? 2 : v < 0x10000 ? 3 : v <= 0xffffffff ? 5 : 9;
}

/** UTF-8 length of a znode name (names hold no surrogates: every char is 1 to 3 bytes). */
export function utf8Length(s: string): number {
  let len = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) len += c >= 0x800 ? 2 : 1;
  }
  return len;
}

/** Writes msgpack values into one buffer. Lengths and headers big-endian, as msgpack says. */
export class Out {
  readonly view: DataView;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  strHeader(at: number, len: number): number {
    const b = this.buf;
    if (len < 32) {
      b[at] = 0xa0 | len;
      return at + 1;
    }
    if (len < 0x100) {
      b[at] = 0xd9;
      b[at + 1] = len;
      return at + 2;
    }
    if (len < 0x10000) {
      b[at] = 0xda;
      this.view.setUint16(at + 1, len);
      return at + 3;
    }
    b[at] = 0xdb;
    this.view.setUint32(at + 1, len);
    return at + 5;
  }

  /** A string whose UTF-8 length is `len`. */
  str(at: number, s: string, len: number): number {
    at = this.strHeader(at, len);
    const b = this.buf;
    if (len === s.length) {
      for (let i = 0; i < s.length; i++) b[at + i] = s.charCodeAt(i);
      return at + len;
    }
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) b[at++] = c;
      else if (c < 0x800) {
        b[at++] = 0xc0 | (c >> 6);
        b[at++] = 0x80 | (c & 0x3f);
      } else {
        b[at++] = 0xe0 | (c >> 12);
        b[at++] = 0x80 | ((c >> 6) & 0x3f);
        b[at++] = 0x80 | (c & 0x3f);
      }
    }
    return at;
  }

  binHeader(at: number, len: number): number {
    if (len < 0x100) {
      this.buf[at] = 0xc4;
      this.buf[at + 1] = len;
      return at + 2;
    }
    if (len < 0x10000) {
      this.buf[at] = 0xc5;
      this.view.setUint16(at + 1, len);
      return at + 3;
    }
    assert(len <= 0xffffffff, 'snapshot section over 4 GiB');
    this.buf[at] = 0xc6;
    this.view.setUint32(at + 1, len);
    return at + 5;
  }

  arrayHeader(at: number, len: number): number {
    if (len < 16) {
      this.buf[at] = 0x90 | len;
      return at + 1;
    }
    if (len < 0x10000) {
      this.buf[at] = 0xdc;
      this.view.setUint16(at + 1, len);
      return at + 3;
    }
    this.buf[at] = 0xdd;
    this.view.setUint32(at + 1, len);
    return at + 5;
  }

  /** A non-negative safe integer: the smallest uint form, or a float64 beyond 32 bits (msgpackr would decode a uint64 as a bigint). */
  uint(at: number, v: number): number {
    const b = this.buf;
    if (v < 0x80) {
      b[at] = v;
      return at + 1;
    }
    if (v < 0x100) {
      b[at] = 0xcc;
      b[at + 1] = v;
      return at + 2;
    }
    if (v < 0x10000) {
      b[at] = 0xcd;
      this.view.setUint16(at + 1, v);
      return at + 3;
    }
    if (v <= 0xffffffff) {
      b[at] = 0xce;
      this.view.setUint32(at + 1, v);
      return at + 5;
    }
    return this.float64(at, v);
  }

  float64(at: number, v: number): number {
    this.buf[at] = 0xcb;
    this.view.setFloat64(at + 1, v);
    return at + 9;
  }

  /** A 64-bit integer as msgpack int64 or, at 2^63 and beyond, uint64: always 9 bytes. */
  int64(at: number, v: bigint): number {
    if (v < TWO_63) {
      this.buf[at] = 0xd3;
      this.view.setBigInt64(at + 1, v);
    } else {
      this.buf[at] = 0xcf;
      this.view.setBigUint64(at + 1, v);
    }
    return at + 9;
  }
}
