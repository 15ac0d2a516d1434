/**
 * The tree snapshot format, v2: one msgpack map of eleven entries, in this order.
 *
 *   format    'zgate-datatree'
 *   v         1
 *   lastZxid  uint (a float64 beyond 32 bits)
 *   zxids     bin: czxid, mzxid, pzxid per node (float64, little-endian)
 *   times     bin: ctime, mtime per node (float64, little-endian)
 *   ints      bin: child count, version, stored cversion, kind, data length, aversion, ACL id per node (int32, little-endian)
 *   owners    array: the owner of each ephemeral node, in node order (int64, uint64 from 2^63: 9 bytes)
 *   ttls      array: the ttl of each TTL node, in node order (float64: 9 bytes)
 *   data      bin: every node's data, in node order
 *   acls      map {next, lists: [[id, [{perms, scheme, id}...]]...]}: the interned ACL lists (acl-cache.ts)
 *   names     array: each node's name (the root's is '')
 *
 * v1 (before ACLs) had five ints per node and no acls: it restores with every znode
 * world:anyone:cdrwa at aversion 0, as ZooKeeper's trees were then.
 *
 * Nodes are in the canonical order: pre-order, children by name. Owners are always 9 bytes and
 * ttls 9 too, so every section but the names has a size known from the tree's counts: the
 * writer (writer.ts) lays them out at once and fills them in place and in slices; the names
 * come last. The reader (reader.ts) decodes it with the generic msgpack decoder.
 */
import type { Zxid } from '../../core/types.js';
import { assert } from '../../util/assert.js';
import { arrayHeaderSize, binHeaderSize, Out, strHeaderSize, uintSize } from './encoder.js';

export const SNAPSHOT_FORMAT = 'zgate-datatree';
export const SNAPSHOT_VERSION = 2;
/** Int32 fields per node in the ints column, by version. */
export const INTS_PER_NODE: Readonly<Record<number, number>> = { 1: 5, 2: 7 };

/** What fixes a snapshot's layout: its zxid and the tree's counts at it. */
export interface SnapshotCounts {
  zxid: Zxid;
  nodes: number;
  dataBytes: number;
  owners: number;
  ttls: number;
  /** The ACL cache as of the snapshot's zxid, msgpack-encoded (small: one entry per distinct list). */
  acls: Uint8Array;
}

/** A snapshot's buffer with every header written: where each section's first value byte goes. */
export interface Layout {
  out: Out;
  zxidsAt: number;
  timesAt: number;
  intsAt: number;
  ownersAt: number;
  ttlsAt: number;
  dataAt: number;
  aclsAt: number;
  /** The end of the fixed part: the names are written from here on. */
  namesAt: number;
}

/**
 * Allocates the buffer of a snapshot with these counts (`prefix` first, as is, then the map,
 * then `reserve` bytes of room for the names) and writes all but the sections' contents.
 */
export function layOut(src: SnapshotCounts, prefix: Uint8Array, reserve: number): Layout {
  const n = src.nodes;
  const key = (k: string): number => 1 + k.length;
  let size = prefix.length + 1; // the prefix, a fixmap of 11
  size += key('format') + strHeaderSize(SNAPSHOT_FORMAT.length) + SNAPSHOT_FORMAT.length;
  size += key('v') + 1;
  size += key('lastZxid') + uintSize(src.zxid);
  size += key('zxids') + binHeaderSize(24 * n) + 24 * n;
  size += key('times') + binHeaderSize(16 * n) + 16 * n;
  size += key('ints') + binHeaderSize(28 * n) + 28 * n;
  size += key('owners') + arrayHeaderSize(src.owners) + 9 * src.owners;
  size += key('ttls') + arrayHeaderSize(src.ttls) + 9 * src.ttls;
  size += key('data') + binHeaderSize(src.dataBytes) + src.dataBytes;
  size += key('acls') + src.acls.length;
  size += key('names') + arrayHeaderSize(n);
  const out = new Out(new Uint8Array(size + reserve));
  out.buf.set(prefix, 0);
  let at = prefix.length;
  out.buf[at++] = 0x8b;
  const k = (s: string): void => {
    at = out.str(at, s, s.length);
  };
  /** Where the section whose header ends at `at` starts; `at` moves past its `bytes` bytes. */
  const section = (bytes: number): number => {
    const start = at;
    at += bytes;
    return start;
  };
  k('format');
  at = out.str(at, SNAPSHOT_FORMAT, SNAPSHOT_FORMAT.length);
  k('v');
  at = out.uint(at, SNAPSHOT_VERSION);
  k('lastZxid');
  at = out.uint(at, src.zxid);
  k('zxids');
  at = out.binHeader(at, 24 * n);
  const zxidsAt = section(24 * n);
  k('times');
  at = out.binHeader(at, 16 * n);
  const timesAt = section(16 * n);
  k('ints');
  at = out.binHeader(at, 28 * n);
  const intsAt = section(28 * n);
  k('owners');
  at = out.arrayHeader(at, src.owners);
  const ownersAt = section(9 * src.owners);
  k('ttls');
  at = out.arrayHeader(at, src.ttls);
  const ttlsAt = section(9 * src.ttls);
  k('data');
  at = out.binHeader(at, src.dataBytes);
  const dataAt = section(src.dataBytes);
  k('acls');
  const aclsAt = section(src.acls.length);
  out.buf.set(src.acls, aclsAt);
  k('names');
  at = out.arrayHeader(at, n);
  assert(at === size, () => `snapshot layout: ${at} != ${size}`);
  return { out, zxidsAt, timesAt, intsAt, ownersAt, ttlsAt, dataAt, aclsAt, namesAt: at };
}
