/**
 * Binary encoding of structured values (log entries, snapshots, peer messages) with msgpackr.
 * bigint round-trips as bigint (session ids are 64-bit); Uint8Array as binary.
 */
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: 'bigint', mapsAsObjects: true });

export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function decode(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}
