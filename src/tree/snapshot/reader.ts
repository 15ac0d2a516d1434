/**
 * The snapshot reader: decodes a snapshot (format.ts) with the generic msgpack decoder and
 * rebuilds its znodes, trusting nothing in it. Every failure is ZgateError('DataInconsistency').
 *
 * The tree being restored keeps its own indexes: it is handed every znode that needs a path
 * (any but a persistent leaf), the root first; the persistent leaves, most znodes, are only
 * counted, so that no path string is built for them.
 */
import { READ_ACL_UNSAFE } from '../../core/acl.js';
import { ZgateError } from '../../core/errors.js';
import type { Zxid } from '../../core/types.js';
import { decode } from '../../util/codec.js';
import { bytesFloat64, bytesInt32 } from './columns.js';
import { childPath, isValidName, ROOT } from '../path.js';
import { describe, isBytes, isRecord, MAX_OWNER, MAX_TTL_MS, MIN_OWNER } from '../validate.js';
import { EMPTY_DATA, NodeKind, ZNode } from '../znode.js';
import { AclCache } from '../acl-cache.js';
import { INTS_PER_NODE, SNAPSHOT_FORMAT } from './format.js';

/** Called for each znode that is not a persistent leaf, with its path. */
export type IndexNode = (path: string, node: ZNode) => void;

/** A snapshot's tree, rebuilt. */
export interface ReadTree {
  root: ZNode;
  lastZxid: Zxid;
  /** The persistent leaves (not handed to IndexNode) and their data bytes. */
  leaves: number;
  leafBytes: number;
  /** The ACL lists, each held once per znode that has it. */
  acls: AclCache;
}

/** Decodes `bytes` and rebuilds the tree they hold; `index` sees every znode but the persistent leaves. */
export function readSnapshot(bytes: Uint8Array, index: IndexNode): ReadTree {
  let decoded: unknown;
  try {
    if (!isBytes(bytes)) throw new TypeError('not bytes');
    decoded = decode(bytes);
  } catch (e) {
    throw new ZgateError('DataInconsistency', `malformed snapshot: cannot decode (${e instanceof Error ? e.message : 'unknown error'})`);
  }
  return buildTree(new NodeReader(decoded), index);
}

function bad(why: string): ZgateError {
  return new ZgateError('DataInconsistency', `malformed snapshot: ${why}`);
}

function check(ok: boolean, i: number, what: string): void {
  if (!ok) throw bad(`node ${i}: bad ${what}`);
}

/** The decoded columns, checked for shape, and the znodes made from them one at a time, in order. */
class NodeReader {
  readonly lastZxid: Zxid;
  readonly names: unknown[];
  readonly ints: Int32Array;
  /** Int32 fields per node: 5 before ACLs (v1), 7 since. */
  readonly stride: number;
  readonly acls: AclCache;
  private readonly zxids: Float64Array;
  private readonly times: Float64Array;
  private readonly owners: unknown[];
  private readonly ttls: unknown[];
  private readonly all: Uint8Array;
  private offset = 0;
  private ownerAt = 0;
  private ttlAt = 0;

  constructor(s: unknown) {
    if (!isRecord(s) || s.format !== SNAPSHOT_FORMAT) throw bad('not a zgate tree snapshot');
    const stride = typeof s.v === 'number' ? INTS_PER_NODE[s.v] : undefined;
    if (stride === undefined) throw bad(`unsupported version ${describe(s.v)}`);
    const lastZxid = s.lastZxid;
    if (typeof lastZxid !== 'number' || !Number.isSafeInteger(lastZxid) || lastZxid < 0) throw bad('bad lastZxid');
    const names = s.names;
    if (!Array.isArray(names) || names.length < 1) throw bad('no nodes');
    const n = names.length;
    const zxids = bytesFloat64(s.zxids, 3 * n);
    const times = bytesFloat64(s.times, 2 * n);
    const ints = bytesInt32(s.ints, stride * n);
    if (zxids === undefined || times === undefined || ints === undefined) throw bad('a stat column is missing or of the wrong size');
    const owners = s.owners;
    const ttls = s.ttls;
    const blob = s.data;
    if (!Array.isArray(owners) || !Array.isArray(ttls) || !isBytes(blob)) throw bad('owners, ttls or data missing');
    const acls = stride === 5 ? new AclCache() : AclCache.fromSnapshot(s.acls);
    if (acls === undefined) throw bad('the ACL lists are malformed');
    this.acls = acls;
    this.stride = stride;
    this.lastZxid = lastZxid;
    this.names = names;
    this.zxids = zxids;
    this.times = times;
    this.ints = ints;
    this.owners = owners;
    this.ttls = ttls;
    // One copy of every node's data, and each node a view into it: a million small copies would
    // each carry their own backing store, and freeing those dominated a large recovery's time (GC).
    // The copy, not a view of the decoded snapshot, so the rest of the snapshot buffer can go.
    this.all = Uint8Array.prototype.slice.call(blob) as Uint8Array;
  }

  /** Node `i`, the next one (nodes are read in order: data, owners and ttls are consumed). */
  node(i: number): ZNode {
    const { zxids, times, ints, lastZxid, stride } = this;
    const cz = zxids[3 * i]!;
    const mz = zxids[3 * i + 1]!;
    const pz = zxids[3 * i + 2]!;
    check(Number.isSafeInteger(cz) && cz >= 0 && cz <= lastZxid, i, 'czxid');
    check(Number.isSafeInteger(mz) && mz >= cz && mz <= lastZxid, i, 'mzxid');
    check(Number.isSafeInteger(pz) && pz >= cz && pz <= lastZxid, i, 'pzxid');
    const ct = times[2 * i]!;
    const mt = times[2 * i + 1]!;
    check(Number.isSafeInteger(ct) && Number.isSafeInteger(mt), i, 'time');
    const k = ints[stride * i + 3]!;
    check(k >= 0 && k <= 3, i, 'kind');
    const len = ints[stride * i + 4]!;
    const offset = this.offset;
    check(len >= 0 && len <= this.all.length - offset, i, 'data length');
    let owner = 0n;
    let ttl = 0;
    if (k === NodeKind.Ephemeral) {
      const o: unknown = this.owners[this.ownerAt++];
      check(typeof o === 'bigint' && o !== 0n && o >= MIN_OWNER && o <= MAX_OWNER, i, 'ephemeral owner');
      owner = o as bigint;
    } else if (k === NodeKind.Ttl) {
      const t: unknown = this.ttls[this.ttlAt++];
      check(typeof t === 'number' && Number.isSafeInteger(t) && t >= 1 && t <= MAX_TTL_MS, i, 'ttl');
      ttl = t as number;
    }
    const acl = stride === 5 ? this.acls.open : this.acls.byIdOf(ints[stride * i + 6]!);
    check(acl !== undefined, i, 'ACL id');
    this.acls.hold(acl!);
    const node = new ZNode(len === 0 ? EMPTY_DATA : this.all.subarray(offset, offset + len), cz, mz, pz, ct, mt, k as NodeKind, owner, ttl, acl!);
    this.offset = offset + len;
    node.version = ints[stride * i + 1]!;
    node.cversion = ints[stride * i + 2]!;
    if (stride > 5) node.aversion = ints[stride * i + 5]!;
    return node;
  }

  /** After the last node: every data byte, owner and ttl must have been used. */
  checkAllUsed(): void {
    if (this.offset !== this.all.length) throw bad('data longer than the nodes account for');
    if (this.ownerAt !== this.owners.length || this.ttlAt !== this.ttls.length) throw bad('owners or ttls not all used');
  }
}

/** Links the nodes into a tree: each under the nearest open ancestor that still expects children. */
function buildTree(r: NodeReader, index: IndexNode): ReadTree {
  const { names, ints, stride } = r;
  const n = names.length;
  if (names[0] !== '') throw bad('the first node is not the root');
  const root = r.node(0);
  let leaves = 0;
  let leafBytes = 0;
  index(ROOT, root);
  // The open ancestors of the next node: how many children each still expects, and the last name seen.
  const stackNodes: ZNode[] = [];
  const stackPaths: string[] = [];
  const stackLeft: number[] = [];
  const stackLast: string[] = [];
  const open = (node: ZNode, path: string, i: number): void => {
    const kids = ints[stride * i]!;
    check(kids >= 0 && kids < n, i, 'child count');
    if (kids === 0) return;
    if (node.kind === NodeKind.Ephemeral) throw bad(`ephemeral ${path} has children`);
    stackNodes.push(node);
    stackPaths.push(path);
    stackLeft.push(kids);
    stackLast.push('');
  };
  open(root, ROOT, 0);
  for (let i = 1; i < n; i++) {
    while (stackLeft.length > 0 && stackLeft[stackLeft.length - 1] === 0) {
      stackNodes.pop();
      stackPaths.pop();
      stackLeft.pop();
      stackLast.pop();
    }
    const d = stackLeft.length - 1;
    if (d < 0) throw bad(`node ${i} has no parent`);
    const name: unknown = names[i];
    if (typeof name !== 'string' || !isValidName(name)) throw bad(`node ${i}: invalid name ${describe(name)}`);
    // Strictly ascending siblings: no duplicates, and the canonical order the writer keeps.
    if (stackLast[d] !== '' && !(stackLast[d]! < name)) throw bad(`node ${i}: ${describe(name)} out of order`);
    stackLeft[d]!--;
    stackLast[d] = name;
    const parent = stackNodes[d]!;
    const node = r.node(i);
    if (parent.children === null) parent.children = new Map();
    parent.children.set(name, node);
    if (node.kind === NodeKind.Persistent && ints[stride * i] === 0) {
      // Most znodes: no index entry and no children, so no need to build the path string.
      leaves++;
      leafBytes += node.data.length;
      continue;
    }
    const path = childPath(stackPaths[d]!, name);
    index(path, node);
    open(node, path, i);
  }
  if (stackLeft.some((left) => left !== 0)) throw bad('fewer nodes than the child counts announce');
  r.checkAllUsed();
  for (const p of ['zookeeper', 'zookeeper/quota', 'zookeeper/config']) {
    if (childAt(root, p) === undefined) throw bad(`/${p} is missing`);
  }
  if (stride === 5) {
    // Before ACLs, /zookeeper/config was already world-readable only, at ACL version -1.
    const config = childAt(root, 'zookeeper/config')!;
    const readOnly = r.acls.intern(READ_ACL_UNSAFE);
    r.acls.hold(readOnly);
    r.acls.release(config.acl);
    config.acl = readOnly;
    config.aversion = -1;
  }
  r.acls.dropUnheld();
  return { root, lastZxid: r.lastZxid, leaves, leafBytes, acls: r.acls };
}

/** The node at `rel` (names joined by '/') under `top`. */
function childAt(top: ZNode, rel: string): ZNode | undefined {
  let node: ZNode | undefined = top;
  for (const name of rel.split('/')) node = node?.children?.get(name);
  return node;
}
