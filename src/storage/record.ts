/**
 * WAL record framing (etcd's wal/encoder.go, reshaped).
 *
 *   offset 0  u32 LE  crc     CRC32C of bytes [4, size), seeded with the previous record's crc
 *   offset 4  u24 LE  len     payload length (max 16 MiB - 1)
 *   offset 7  u8      type    1 = segment header, 2 = entry
 *   offset 8          payload, then 0..7 zero bytes so that size = align8(8 + len)
 *
 * Records start at multiples of 8, and the CRC covers every byte of the record (header fields,
 * payload, padding). The CRC is *chained*: each record's crc is CRC32C(previous crc, content),
 * i.e. the running CRC of the whole log, and each segment starts with a header record carrying
 * the chain value at the end of the previous segment. A record copied from elsewhere (an old
 * segment, a truncated-away tail that a file system resurrects) fails the check.
 *
 * Entry payload:  u32 index lo, u32 index hi, u32 term lo, u32 term hi, data.
 * Segment header payload (32 bytes): magic "ZGW1", u32 flags (bit 0: reset — the log
 *   restarts here, everything in earlier segments is obsolete), u64 seq, u64 firstIndex (the
 *   index the first entry of this segment will have), u32 prevCrc, u32 zero.
 */
import { crc32c } from '@node-rs/crc32';

export const REC_HEADER = 8;
export const TYPE_SEGMENT = 1;
export const TYPE_ENTRY = 2;
export const MAX_PAYLOAD = 0xffffff;
export const ENTRY_PREFIX = 16;
/** Largest entry data that fits a record. */
export const MAX_ENTRY_DATA = MAX_PAYLOAD - ENTRY_PREFIX;
export const SEG_PAYLOAD = 32;
export const SEG_MAGIC = 0x3157475a; // "ZGW1" little-endian
export const SEG_FLAG_RESET = 1;
/** Size of the segment header record (the first record of every segment file). */
export const SEG_HEADER_BYTES = align8(REC_HEADER + SEG_PAYLOAD);

export function align8(n: number): number {
  return (n + 7) & ~7;
}

export function entryRecordSize(dataLength: number): number {
  return align8(REC_HEADER + ENTRY_PREFIX + dataLength);
}

export function writeU64(buf: Buffer, value: number, at: number): void {
  buf.writeUInt32LE(value % 0x100000000, at);
  buf.writeUInt32LE(Math.floor(value / 0x100000000), at + 4);
}
export function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * 0x100000000;
}

/** Frame header + CRC for a record whose payload is already at [at+8, at+8+len). Returns its crc. */
function seal(buf: Buffer, at: number, type: number, len: number, chain: number): number {
  const size = align8(REC_HEADER + len);
  buf.writeUInt32LE((len | (type << 24)) >>> 0, at + 4);
  buf.fill(0, at + REC_HEADER + len, at + size);
  const crc = crc32c(buf.subarray(at + 4, at + size), chain);
  buf.writeUInt32LE(crc, at);
  return crc;
}

/** Encode one entry record at buf[at..]; returns the new chain value. */
export function encodeEntry(buf: Buffer, at: number, index: number, term: number, data: Uint8Array, chain: number): number {
  const p = at + REC_HEADER;
  writeU64(buf, index, p);
  writeU64(buf, term, p + 8);
  buf.set(data, p + ENTRY_PREFIX);
  return seal(buf, at, TYPE_ENTRY, ENTRY_PREFIX + data.length, chain);
}

export interface SegmentHeader {
  flags: number;
  seq: number;
  firstIndex: number;
  prevCrc: number;
}

/** The header record of a new segment file; its crc (the chain value) is returned with it. */
export function encodeSegmentHeader(h: SegmentHeader): { buf: Buffer; crc: number } {
  const buf = Buffer.alloc(SEG_HEADER_BYTES);
  const p = REC_HEADER;
  buf.writeUInt32LE(SEG_MAGIC, p);
  buf.writeUInt32LE(h.flags, p + 4);
  writeU64(buf, h.seq, p + 8);
  writeU64(buf, h.firstIndex, p + 16);
  buf.writeUInt32LE(h.prevCrc >>> 0, p + 24);
  const crc = seal(buf, 0, TYPE_SEGMENT, SEG_PAYLOAD, h.prevCrc);
  return { buf, crc };
}

export function decodeSegmentHeader(buf: Buffer, payloadAt: number, len: number): SegmentHeader | undefined {
  if (len !== SEG_PAYLOAD || buf.readUInt32LE(payloadAt) !== SEG_MAGIC) return undefined;
  return {
    flags: buf.readUInt32LE(payloadAt + 4),
    seq: readU64(buf, payloadAt + 8),
    firstIndex: readU64(buf, payloadAt + 16),
    prevCrc: buf.readUInt32LE(payloadAt + 24),
  };
}

export interface RecordOk {
  ok: true;
  type: number;
  /** payload at [at + 8, at + 8 + len) */
  len: number;
  size: number;
  crc: number;
}
export interface RecordBad {
  ok: false;
  reason: string;
}

/** Header fields if they are plausible (known type, fits in the buffer); else undefined. */
function plausible(buf: Buffer, at: number): { type: number; len: number; size: number } | undefined {
  if (at + REC_HEADER > buf.length) return undefined;
  const w = buf.readUInt32LE(at + 4);
  const type = w >>> 24;
  const len = w & 0xffffff;
  if (type !== TYPE_ENTRY && type !== TYPE_SEGMENT) return undefined;
  const size = align8(REC_HEADER + len);
  if (at + size > buf.length) return undefined;
  return { type, len, size };
}

/** Read and check the record at buf[at..] against the chain value before it. */
export function readRecord(buf: Buffer, at: number, chain: number): RecordOk | RecordBad {
  const r = readRecordRaw(buf, at, chain);
  // A bad record whose bytes are all zero to the end of the file: blocks allocated but never
  // written (the file size reached disk, the data did not).
  if (!r.ok && at < buf.length && isZero(buf, at, buf.length)) return { ok: false, reason: `zeroed tail (${buf.length - at} zero bytes)` };
  return r;
}

function readRecordRaw(buf: Buffer, at: number, chain: number): RecordOk | RecordBad {
  const left = buf.length - at;
  if (left < REC_HEADER) return { ok: false, reason: `short record header (${left} of ${REC_HEADER} bytes)` };
  const w = buf.readUInt32LE(at + 4);
  const type = w >>> 24;
  const len = w & 0xffffff;
  if (type !== TYPE_ENTRY && type !== TYPE_SEGMENT) return { ok: false, reason: `unknown record type ${type}` };
  const size = align8(REC_HEADER + len);
  if (size > left) return { ok: false, reason: `short record (${size} bytes declared, ${left} left in file)` };
  const crc = crc32c(buf.subarray(at + 4, at + size), chain);
  const stored = buf.readUInt32LE(at);
  if (crc !== stored) return { ok: false, reason: `CRC mismatch (stored ${hex(stored)}, computed ${hex(crc)})` };
  return { ok: true, type, len, size, crc };
}

function verifiesWith(buf: Buffer, at: number, seeds: number[]): boolean {
  const h = plausible(buf, at);
  if (!h) return false;
  const stored = buf.readUInt32LE(at);
  const content = buf.subarray(at + 4, at + h.size);
  return seeds.some((seed) => crc32c(content, seed) === stored);
}

/**
 * After a bad record at `bad` (chain value `chain` before it): does any valid record follow
 * in this buffer? If so the damage is in the middle of the log (corruption), not a torn tail.
 *
 * Chained CRCs make a record checkable only against its predecessor's crc, so we look for:
 *  - the record right after the bad one (trusting its length), checked against the bad
 *    record's stored crc or the crc its content should have had (one of the two is intact
 *    when a single field is damaged);
 *  - at every 8-aligned offset p after it: a record checked against the bad record's stored
 *    crc (the bad record's length field is what was damaged), or a pair of records p, q where
 *    q checks against p's stored crc (any two consecutive intact records).
 * A false "follows" (2^-32 per candidate) only turns a repair into a refusal: the safe side.
 */
export function validRecordFollows(buf: Buffer, bad: number, chain: number): boolean {
  const storedBad = bad + 4 <= buf.length ? buf.readUInt32LE(bad) : undefined;
  const h = plausible(buf, bad);
  if (h && storedBad !== undefined) {
    const computed = crc32c(buf.subarray(bad + 4, bad + h.size), chain);
    if (verifiesWith(buf, bad + h.size, [storedBad, computed])) return true;
  }
  for (let p = bad + 8; p + REC_HEADER <= buf.length; p += 8) {
    if (storedBad !== undefined && verifiesWith(buf, p, [storedBad])) return true;
    const hp = plausible(buf, p);
    if (hp && verifiesWith(buf, p + hp.size, [buf.readUInt32LE(p)])) return true;
  }
  return false;
}

export function isZero(buf: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}

export function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}
