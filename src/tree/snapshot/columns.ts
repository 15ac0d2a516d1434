/**
 * Numeric snapshot columns as little-endian bytes: one msgpack binary per column instead of a
 * million msgpack numbers, which makes snapshot and restore of a large tree several times faster.
 */

import { isBytes } from '../validate.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function float64Bytes(values: Float64Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i]!, true);
  return out;
}

export function int32Bytes(values: Int32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setInt32(i * 4, values[i]!, true);
  return out;
}

/** The column of `n` numbers held in `bytes`, or undefined when it is not exactly that. */
export function bytesFloat64(bytes: unknown, n: number): Float64Array | undefined {
  if (!isBytes(bytes) || bytes.length !== n * 8) return undefined;
  const out = new Float64Array(n);
  if (LITTLE_ENDIAN) {
    // Copied, not viewed: the decoded bytes need not be 8-byte aligned.
    new Uint8Array(out.buffer).set(bytes);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
  }
  return out;
}

export function bytesInt32(bytes: unknown, n: number): Int32Array | undefined {
  if (!isBytes(bytes) || bytes.length !== n * 4) return undefined;
  const out = new Int32Array(n);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
  }
  return out;
}
