/**
 * Znode data on the wire (api.md): JSON answers carry `data` as UTF-8 text when the bytes are
 * valid UTF-8, else base64 (`encoding`). Platform-only (atob/btoa, TextEncoder/TextDecoder),
 * so the same code runs in browsers.
 */
import { STAT_FIELDS, type DataEncoding } from '../wire/znodes.js';
import type { Stat } from './types.js';

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

export function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let bin = '';
  // Chunks keep String.fromCharCode's argument list short (a znode holds up to 1 MiB).
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** True when the bytes decode as UTF-8 without loss (then they can travel as text). */
export function isUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** A JSON answer's data as bytes. */
export function wireBytes(data: string, encoding: string | undefined): Uint8Array {
  return encoding === 'base64' ? base64ToBytes(data) : utf8Encoder.encode(data);
}

/** A JSON answer's data as the caller wants it: text (lossy for bytes that are not UTF-8) or bytes. */
export function wireData(data: string, encoding: string | undefined, binary: boolean): string | Uint8Array {
  if (binary) return wireBytes(data, encoding);
  return encoding === 'base64' ? utf8Decoder.decode(base64ToBytes(data)) : data;
}

/** Data for a JSON request body (a txn op). */
export function toWire(bytes: Uint8Array): { data: string; encoding: DataEncoding } {
  return isUtf8(bytes) ? { data: utf8Decoder.decode(bytes), encoding: 'utf8' } : { data: bytesToBase64(bytes), encoding: 'base64' };
}

/** A stat from JSON, checked enough that a caller never holds a half stat. */
export function statOf(v: unknown): Stat {
  const s = v as Stat;
  if (typeof s !== 'object' || s === null || typeof s.czxid !== 'string' || typeof s.version !== 'number') {
    throw new TypeError(`not a stat: ${JSON.stringify(v)}`);
  }
  // A copy of the stat's fields alone, in api.md's order.
  const stat = {} as Record<keyof Stat, unknown>;
  for (const field of STAT_FIELDS) stat[field] = s[field];
  return stat as Stat;
}

/** zxids are decimal strings of safe integers (api.md); comparisons go through numbers. */
export function zxidNum(z: string | number | undefined | null): number {
  if (z === undefined || z === null) return 0;
  const n = typeof z === 'number' ? z : Number(z);
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}
