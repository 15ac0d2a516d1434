/**
 * The in-memory znode. One plain class with a fixed shape (V8 keeps it compact and the
 * property accesses monomorphic), no closures, and no children map until a first child:
 * the tree must hold a million of these.
 */
import type { Stat } from '../core/types.js';
import type { AclRef } from './acl-cache.js';

/** What ZooKeeper encodes in ephemeralOwner; zgate keeps it apart so clients see 0 for the last two. */
export const NodeKind = {
  Persistent: 0,
  Ephemeral: 1,
  Container: 2,
  Ttl: 3,
} as const;
export type NodeKind = (typeof NodeKind)[keyof typeof NodeKind];

export const EMPTY_DATA = new Uint8Array(0);

export class ZNode {
  /** Stored child-create counter (a Java int): the sequential suffix; reported cversion derives from it. */
  cversion = 0;
  version = 0;
  /** setACL's counter (a Java int). */
  aversion = 0;
  children: Map<string, ZNode> | null = null;
  /** Sorted child names, rebuilt lazily after any change to `children`. */
  sorted: string[] | null = null;

  constructor(
    public data: Uint8Array,
    public czxid: number,
    public mzxid: number,
    public pzxid: number,
    public ctime: number,
    public mtime: number,
    public kind: NodeKind,
    /** The session of an ephemeral node, 0n for every other kind. */
    public owner: bigint,
    /** The ttl of a TTL node in ms, 0 for every other kind. */
    public ttl: number,
    /** Its ACL, interned (acl-cache.ts) and held by the tree while the node is in it. */
    public acl: AclRef,
  ) {}

  get numChildren(): number {
    return this.children === null ? 0 : this.children.size;
  }

  sortedChildren(): string[] {
    if (this.children === null) return [];
    if (this.sorted === null) this.sorted = [...this.children.keys()].sort();
    return this.sorted;
  }

  stat(): Stat {
    const numChildren = this.numChildren;
    return {
      czxid: this.czxid,
      mzxid: this.mzxid,
      pzxid: this.pzxid,
      ctime: this.ctime,
      mtime: this.mtime,
      version: this.version,
      // ZooKeeper's copyStat: creates*2 - live children = creates + deletes, in Java int arithmetic.
      cversion: (this.cversion * 2 - numChildren) | 0,
      aversion: this.aversion,
      ephemeralOwner: this.kind === NodeKind.Ephemeral ? this.owner : 0n,
      dataLength: this.data.length,
      numChildren,
    };
  }
}
