/**
 * FNV-1a 64-bit, kept as two 32-bit halves: BigInt arithmetic would be far too slow for a
 * walk over a million znodes, and every intermediate product here stays below 2^53.
 */

const PRIME_LOW = 0x1b3; // the FNV-64 prime is 2^40 + 0x1b3
const TWO_32 = 0x1_0000_0000;

const f64 = new Float64Array(1);
const f64Words = new Uint32Array(f64.buffer);

export class Fnv64 {
  private hi = 0xcbf29ce4;
  private lo = 0x84222325;

  byte(b: number): void {
    const lo = (this.lo ^ (b & 0xff)) >>> 0;
    const loProduct = lo * PRIME_LOW;
    const carry = Math.floor(loProduct / TWO_32);
    this.hi = (this.hi * PRIME_LOW + carry + ((lo << 8) >>> 0)) >>> 0;
    this.lo = loProduct >>> 0;
  }

  bytes(data: Uint8Array): void {
    // The loop body is byte() inlined: this is the hot path of digest().
    let hi = this.hi;
    let lo = this.lo;
    for (let i = 0; i < data.length; i++) {
      lo = (lo ^ data[i]!) >>> 0;
      const loProduct = lo * PRIME_LOW;
      hi = (hi * PRIME_LOW + Math.floor(loProduct / TWO_32) + ((lo << 8) >>> 0)) >>> 0;
      lo = loProduct >>> 0;
    }
    this.hi = hi;
    this.lo = lo;
  }

  uint32(v: number): void {
    this.byte(v);
    this.byte(v >>> 8);
    this.byte(v >>> 16);
    this.byte(v >>> 24);
  }

  /** Any JS number, by its IEEE-754 bits, so distinct values always feed distinct input. */
  number(v: number): void {
    f64[0] = v;
    this.uint32(f64Words[0]!);
    this.uint32(f64Words[1]!);
  }

  /** Length first, so that consecutive strings cannot run into each other. */
  string(s: string): void {
    this.uint32(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      this.byte(c);
      this.byte(c >>> 8);
    }
  }

  bigint(v: bigint): void {
    this.string(v.toString());
  }

  hex(): string {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0');
  }
}

/** FNV-1a 64 of some bytes as 16 hex digits. */
export function fnv1a64Hex(data: Uint8Array): string {
  const h = new Fnv64();
  h.bytes(data);
  return h.hex();
}
