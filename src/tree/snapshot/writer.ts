/**
 * The snapshot writer: the tree as it was at one applied zxid Z, written incrementally while
 * writes go on, and exact: byte for byte what a synchronous snapshot at Z gives.
 *
 * Why copy-on-write and not ZooKeeper's fuzzy snapshot: apply() is deterministic but not
 * idempotent (sequential suffixes come from cversion, a set bumps a version, a create of an
 * existing node fails), so replaying entries over a snapshot that already holds some of their
 * effects would not give the leader's tree. A fuzzy snapshot would need idempotent,
 * leader-prepared transactions throughout; zgate keeps one rule instead: a snapshot is a
 * consistent cut at Z.
 *
 * How the cut is kept while the tree moves on (node-level copy-on-write, no tree copy):
 *
 * - The writer walks the tree as it was at Z, in the canonical order (pre-order, children by
 *   name), a budget of nodes per step(), and writes each node's record straight into its place
 *   in the output (every section but the names has a size known at Z).
 * - Nodes created after Z are recognised by czxid > Z (zxids only grow) and skipped: no
 *   bookkeeping at all for creates, beyond the parent's pre-image below.
 * - The first change after Z to a node that existed at Z (data/version/mzxid/mtime by a set; ACL
 *   and aversion by a setACL;
 *   cversion/pzxid/child count by a create or delete under it) saves a pre-image of its mutable
 *   fields; the node's own record is later written from it. Immutable fields (czxid, ctime, kind,
 *   owner, ttl) are read from the node; data arrays are never written in place, so a pre-image
 *   keeps a reference, not a copy. Rollbacks need nothing: the forward change saved the
 *   pre-image, and undo only restores values.
 * - A node that existed at Z and is deleted after Z goes to a per-parent graveyard (name →
 *   node); the parent's children as of Z are then (live children with czxid <= Z) ∪ graveyard,
 *   by name, graveyard first (a name deleted and re-created resolves to the old node). The
 *   deleted node keeps its fields and, if it was emptied first (deleteTree), its own graveyard.
 * - Sorted child lists: a frame may hold a node's cached `sorted` array; while it does, the
 *   tree copies it before changing it in place (a Set lookup, only while a writer runs). A large
 *   directory without that cache is sorted across steps (sorted runs of its names, merged pass
 *   by pass in chunks), so no step sorts, or allocates for, a million names at once.
 * - Counters (node count, data bytes), lastZxid and the indexes are taken at Z: the count and
 *   data size fix the output layout, and the ephemeral owners, ttls and container kinds travel
 *   with each node's (immutable) kind, owner and ttl, from which restore() rebuilds the indexes.
 *
 * Memory while a writer runs: one pre-image per node changed since Z and one graveyard entry per
 * node deleted since Z, whether or not the walk has passed it, all dropped when the walk ends
 * (before any final copy). The cost when no writer runs is one null check per mutation.
 *
 * The bytes (format.ts) are laid out at Z; the names come last, into a reserve sized from the
 * previous snapshot, and past it into overflow chunks joined by a final copy (in slices too).
 * The bytes returned may be a view on a slightly larger buffer. snapshot() runs this same
 * writer to the end, so equal trees still give equal bytes.
 */
import type { Zxid } from '../../core/types.js';
import { assert } from '../../util/assert.js';
import { NodeKind, type ZNode } from '../znode.js';
import { Out, strHeaderSize, utf8Length } from './encoder.js';
import { layOut, type SnapshotCounts } from './format.js';
import { Frame } from './frame.js';
import { SortJob } from './sort.js';

/** An incremental snapshot of the tree as of `zxid`. */
export interface SnapshotWriter {
  /** The applied zxid the snapshot holds the tree at. */
  readonly zxid: Zxid;
  /** Znodes in the snapshot (the tree's count at `zxid`). */
  readonly nodes: number;
  /** Znodes written so far. */
  readonly written: number;
  /** Pre-images and graveyard entries held for changes made since `zxid` (memory while it runs). */
  readonly saved: number;
  /**
   * Does about `budget` znodes' worth of work (sorting a large directory and the final copy
   * count too); false once the bytes are complete (finish() then costs nothing).
   */
  step(budget: number): boolean;
  /** The snapshot's bytes; runs what is left of the work synchronously first. */
  finish(): Uint8Array;
  /** Gives up: the tree stops saving pre-images at once. No-op once finished or aborted. */
  abort(): void;
}

/** Thresholds, for tests that want the large-directory and overflow paths on small trees. */
export interface SnapshotTuning {
  /** A directory with more children than this, and no sorted cache, is sorted across steps. */
  smallDir: number;
  /** Run length of that merge sort's first pass. */
  sortRun: number;
  /** Bytes reserved per node for the names section; more goes to overflow chunks and a final copy. */
  nameBytesPerNode: number;
}

/** beginSnapshot()'s options: tuning, and bytes to put in front of the snapshot. */
export interface SnapshotOptions extends Partial<SnapshotTuning> {
  /**
   * Written first, as is: finish() returns prefix + the tree's snapshot in one buffer, so a
   * caller that frames the tree with state of its own (the session table) needs no final copy.
   */
  prefix?: Uint8Array;
}

export const DEFAULT_TUNING: SnapshotTuning = { smallDir: 4096, sortRun: 2048, nameBytesPerNode: 12 };

/** What the writer needs from the tree at Z. */
export interface SnapshotSource extends SnapshotCounts {
  root: ZNode;
}

// Costs in ticks, measured against writing a node (~1 µs with 100 bytes of data): step(budget)
// spends budget * TICKS_PER_NODE.
const TICKS_PER_NODE = 8;
const TICK_NAME = 1; // a child name looked at (and perhaps skipped)
const COPY_BYTES_PER_TICK = 256;
const SPILL_CHUNK = 1 << 20;

/** The mutable fields of a node as they were at Z. */
class PreImage {
  readonly data: Uint8Array;
  readonly version: number;
  readonly mzxid: number;
  readonly mtime: number;
  readonly cversion: number;
  readonly pzxid: number;
  readonly numChildren: number;
  readonly aversion: number;
  readonly aclId: number;
  constructor(node: ZNode) {
    this.data = node.data;
    this.version = node.version;
    this.mzxid = node.mzxid;
    this.mtime = node.mtime;
    this.cversion = node.cversion;
    this.pzxid = node.pzxid;
    this.numChildren = node.numChildren;
    this.aversion = node.aversion;
    this.aclId = node.acl.id;
  }
}

const State = { Walk: 0, Copy: 1, Done: 2, Finished: 3, Aborted: 4 } as const;
type State = (typeof State)[keyof typeof State];

export class CowSnapshot implements SnapshotWriter {
  readonly zxid: Zxid;
  readonly nodes: number;
  private state: State = State.Walk;
  private i = 0;
  private readonly root: ZNode;
  private readonly dataBytes: number;
  private readonly ownerCount: number;
  private readonly ttlCount: number;
  private readonly pre = new Map<ZNode, PreImage>();
  private readonly graveyard = new Map<ZNode, Map<string, ZNode>>();
  private graveyardSize = 0;
  private readonly held = new Set<string[]>();
  private readonly frames: Frame[] = [];

  private out: Out;
  // Section offsets (of the first value byte) and write positions.
  private readonly zxidsAt: number;
  private readonly timesAt: number;
  private readonly intsAt: number;
  private readonly ownersAt: number;
  private readonly ttlsAt: number;
  private readonly dataAt: number;
  private owners = 0;
  private ttls = 0;
  private dataOffset = 0;
  /** Next byte of the names section inside `out`, and the overflow beyond its reserve. */
  private namesEnd: number;
  private spill: Uint8Array[] = [];
  private spillOut: Out | null = null;
  private spillAt = 0;
  private spilledBytes = 0;
  private namesBytes = 0;

  // The final copy, when the names overflowed their reserve.
  private final: Uint8Array | null = null;
  private copied = 0;
  private copyPart = -1;
  private copyAt = 0;

  constructor(
    src: SnapshotSource,
    private readonly tuning: SnapshotTuning,
    /** Called once when the walk is over or abandoned: the tree stops calling the hooks. */
    private readonly detach: ((w: CowSnapshot) => void) | null,
    prefix: Uint8Array = new Uint8Array(0),
  ) {
    this.zxid = src.zxid;
    this.nodes = src.nodes;
    this.root = src.root;
    this.dataBytes = src.dataBytes;
    this.ownerCount = src.owners;
    this.ttlCount = src.ttls;
    const layout = layOut(src, prefix, Math.ceil(src.nodes * tuning.nameBytesPerNode));
    this.out = layout.out;
    this.zxidsAt = layout.zxidsAt;
    this.timesAt = layout.timesAt;
    this.intsAt = layout.intsAt;
    this.ownersAt = layout.ownersAt;
    this.ttlsAt = layout.ttlsAt;
    this.dataAt = layout.dataAt;
    this.namesEnd = layout.namesAt;
  }

  get written(): number {
    return this.i;
  }

  get saved(): number {
    return this.pre.size + this.graveyardSize;
  }

  /** Bytes of names per node in this snapshot (a hint for the next one's reserve). */
  get nameBytesPerNode(): number {
    return this.nodes === 0 ? 0 : this.namesBytes / this.nodes;
  }

  // ---------------------------------------------------------------- hooks (the tree calls these while attached)

  /** Before a set or a setACL on `node`. */
  beforeSet(node: ZNode): void {
    if (node.czxid <= this.zxid && !this.pre.has(node)) this.pre.set(node, new PreImage(node));
  }

  /** Before a child is added to or removed from `parent` (its counters and child set change). */
  beforeChildChange(parent: ZNode): void {
    if (parent.czxid <= this.zxid && !this.pre.has(parent)) this.pre.set(parent, new PreImage(parent));
    const sorted = parent.sorted;
    if (sorted !== null && this.held.size > 0 && this.held.has(sorted)) parent.sorted = sorted.slice();
  }

  /** Before `node` (now childless) is removed from `parent` under `name`. */
  beforeRemove(parent: ZNode, name: string, node: ZNode): void {
    this.beforeChildChange(parent);
    if (node.czxid > this.zxid) return;
    let gone = this.graveyard.get(parent);
    if (gone === undefined) {
      gone = new Map();
      this.graveyard.set(parent, gone);
    }
    // Never removed again (a rolled-back delete leaves it here): resolving a name through the
    // graveyard first still gives the same node, and a dropped entry could be missed by a
    // large directory's collection.
    if (!gone.has(name)) {
      gone.set(name, node);
      this.graveyardSize++;
    }
  }

  // ---------------------------------------------------------------- driving

  step(budget: number): boolean {
    assert(this.state !== State.Finished && this.state !== State.Aborted, 'step() on a finished or aborted snapshot');
    assert(budget > 0, 'step() needs a positive budget');
    let ticks = budget * TICKS_PER_NODE;
    while (ticks > 0) {
      if (this.state === State.Walk) ticks -= this.walk(ticks);
      else if (this.state === State.Copy) ticks -= this.copy(ticks);
      else break;
    }
    return this.state !== State.Done;
  }

  finish(): Uint8Array {
    assert(this.state !== State.Finished && this.state !== State.Aborted, 'finish() on a finished or aborted snapshot');
    while (this.step(Infinity));
    const bytes = this.final!;
    this.state = State.Finished;
    this.final = null;
    return bytes;
  }

  abort(): void {
    if (this.state === State.Finished || this.state === State.Aborted) return;
    this.release();
    this.state = State.Aborted;
    this.final = null;
    this.out = new Out(new Uint8Array(0));
  }

  /** Drops everything the walk needed and stops the hooks. */
  private release(): void {
    if (this.state === State.Walk) this.detach?.(this);
    this.pre.clear();
    this.graveyard.clear();
    this.graveyardSize = 0;
    this.held.clear();
    this.frames.length = 0;
  }

  // ---------------------------------------------------------------- the walk

  private walk(ticks: number): number {
    let spent = 0;
    if (this.i === 0) {
      this.emit(this.root, '');
      spent += TICKS_PER_NODE;
    }
    const Z = this.zxid;
    const frames = this.frames;
    while (spent < ticks) {
      const f = frames[frames.length - 1];
      if (f === undefined) {
        this.endWalk();
        return spent;
      }
      if (f.sort !== null) {
        spent += f.sort.work(ticks - spent);
        if (f.sort.done) {
          f.names = f.sort.result;
          f.gone = this.goneNames(f.node);
          f.sort = null;
        }
        continue;
      }
      const name = f.nextName();
      spent += TICK_NAME;
      if (name === undefined) {
        assert(f.count === f.expected, () => `snapshot at ${Z}: a node had ${f.expected} children then, the walk found ${f.count}`);
        if (f.held !== null) this.held.delete(f.held);
        frames.pop();
        continue;
      }
      const child = (this.graveyardSize === 0 ? undefined : this.graveyard.get(f.node)?.get(name)) ?? f.node.children?.get(name);
      if (child === undefined || child.czxid > Z) continue;
      f.count++;
      this.emit(child, name);
      spent += TICKS_PER_NODE;
    }
    return spent;
  }

  private goneNames(node: ZNode): string[] {
    const gone = this.graveyard.get(node);
    return gone === undefined ? [] : [...gone.keys()].sort();
  }

  /** Writes `node`'s record (as of Z) at the next position and opens it if it had children. */
  private emit(node: ZNode, name: string): void {
    const i = this.i++;
    assert(i < this.nodes, () => `snapshot at ${this.zxid}: more than the ${this.nodes} znodes counted then`);
    const p = this.pre.size === 0 ? undefined : this.pre.get(node);
    const out = this.out;
    const v = out.view;
    let at = this.zxidsAt + 24 * i;
    v.setFloat64(at, node.czxid, true);
    v.setFloat64(at + 8, p === undefined ? node.mzxid : p.mzxid, true);
    v.setFloat64(at + 16, p === undefined ? node.pzxid : p.pzxid, true);
    at = this.timesAt + 16 * i;
    v.setFloat64(at, node.ctime, true);
    v.setFloat64(at + 8, p === undefined ? node.mtime : p.mtime, true);
    const data = p === undefined ? node.data : p.data;
    const kids = p === undefined ? node.numChildren : p.numChildren;
    at = this.intsAt + 28 * i;
    v.setInt32(at, kids, true);
    v.setInt32(at + 4, p === undefined ? node.version : p.version, true);
    v.setInt32(at + 8, p === undefined ? node.cversion : p.cversion, true);
    v.setInt32(at + 12, node.kind, true);
    v.setInt32(at + 16, data.length, true);
    v.setInt32(at + 20, p === undefined ? node.aversion : p.aversion, true);
    v.setInt32(at + 24, p === undefined ? node.acl.id : p.aclId, true);
    if (node.kind === NodeKind.Ephemeral) {
      assert(this.owners < this.ownerCount, 'more ephemeral znodes than counted at the snapshot');
      out.int64(this.ownersAt + 9 * this.owners++, node.owner);
    } else if (node.kind === NodeKind.Ttl) {
      assert(this.ttls < this.ttlCount, 'more ttl znodes than counted at the snapshot');
      out.float64(this.ttlsAt + 9 * this.ttls++, node.ttl);
    }
    const len = data.length;
    assert(this.dataOffset + len <= this.dataBytes, 'more data than counted at the snapshot');
    const buf = out.buf;
    at = this.dataAt + this.dataOffset;
    // TypedArray.set costs more than a short loop for the small values most znodes hold.
    if (len > 64) buf.set(data, at);
    else for (let j = 0; j < len; j++) buf[at + j] = data[j]!;
    this.dataOffset += len;
    this.writeName(name);
    if (kids > 0) this.open(node, kids);
  }

  private open(node: ZNode, expected: number): void {
    const sorted = node.sorted;
    if (sorted !== null) {
      if (this.detach !== null) this.held.add(sorted);
      this.frames.push(new Frame(node, expected, [sorted], sorted, this.goneNames(node), null));
      return;
    }
    const children = node.children;
    if (children === null || children.size <= this.tuning.smallDir) {
      const names = children === null ? [] : [...children.keys()].sort();
      this.frames.push(new Frame(node, expected, [names], null, this.goneNames(node), null));
      return;
    }
    this.frames.push(new Frame(node, expected, [], null, [], new SortJob(children, this.tuning.sortRun)));
  }

  private writeName(name: string): void {
    const len = utf8Length(name);
    const size = strHeaderSize(len) + len;
    this.namesBytes += size;
    if (this.spillOut === null && this.namesEnd + size <= this.out.buf.length) {
      this.namesEnd = this.out.str(this.namesEnd, name, len);
      return;
    }
    // Past the reserve: into overflow chunks, joined by a final copy.
    if (this.spillOut === null || this.spillAt + size > this.spillOut.buf.length) {
      if (this.spillOut !== null) this.spill.push(this.spillOut.buf.subarray(0, this.spillAt));
      this.spillOut = new Out(new Uint8Array(Math.max(SPILL_CHUNK, size)));
      this.spillAt = 0;
    }
    this.spillAt = this.spillOut.str(this.spillAt, name, len);
    this.spilledBytes += size;
  }

  private endWalk(): void {
    assert(this.i === this.nodes, () => `snapshot at ${this.zxid}: the walk found ${this.i} znodes, ${this.nodes} were counted then`);
    assert(this.dataOffset === this.dataBytes, 'snapshot data size out of step with the tree');
    assert(this.owners === this.ownerCount && this.ttls === this.ttlCount, 'snapshot owners or ttls out of step with the tree');
    this.release();
    if (this.spillOut === null) {
      this.final = this.out.buf.subarray(0, this.namesEnd);
      this.state = State.Done;
      return;
    }
    this.spill.push(this.spillOut.buf.subarray(0, this.spillAt));
    this.spillOut = null;
    this.final = new Uint8Array(this.namesEnd + this.spilledBytes);
    this.copied = 0;
    this.copyPart = -1;
    this.copyAt = 0;
    this.state = State.Copy;
  }

  /** Joins the output and its overflow chunks into `final`, a slice at a time. */
  private copy(ticks: number): number {
    const final = this.final!;
    let spent = 0;
    while (spent < ticks) {
      const part = this.copyPart < 0 ? this.out.buf.subarray(0, this.namesEnd) : this.spill[this.copyPart];
      if (part === undefined) {
        assert(this.copied === final.length, 'snapshot overflow copy out of step');
        this.spill = [];
        this.out = new Out(new Uint8Array(0));
        this.state = State.Done;
        return spent;
      }
      const room = Math.max(1, Math.min(ticks - spent, 2 ** 30)) * COPY_BYTES_PER_TICK;
      const end = Math.min(part.length, this.copyAt + room);
      final.set(part.subarray(this.copyAt, end), this.copied);
      this.copied += end - this.copyAt;
      spent += Math.ceil((end - this.copyAt) / COPY_BYTES_PER_TICK) || 1;
      if (end === part.length) {
        this.copyPart++;
        this.copyAt = 0;
      } else this.copyAt = end;
    }
    return spent;
  }
}
