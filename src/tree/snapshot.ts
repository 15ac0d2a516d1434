/**
 * Snapshots of the DataTree, written incrementally while writes go on, and exact: the bytes
 * hold the tree as it was at one applied zxid Z, byte for byte what a synchronous snapshot at Z
 * gives.
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
 * - The first change after Z to a node that existed at Z (data/version/mzxid/mtime by a set;
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
 * The format (v1, msgpack; restore() decodes it with the generic decoder) is a map of
 * format, v, lastZxid, zxids, times, ints, owners, ttls, data and names, in that order, the
 * numeric columns little-endian, written here by hand so that the output can be filled in
 * place and in slices: owners are always int64/uint64 and ttls float64 (9 bytes each), so every
 * section but the names has a size known at Z; the names come last, into a reserve sized from
 * the previous snapshot, and past it into overflow chunks joined by a final copy (in slices
 * too). The bytes returned may be a view on a slightly larger buffer. snapshot() runs this same
 * writer to the end, so equal trees still give equal bytes.
 */
import type { Zxid } from '../core/types.js';
import { assert } from '../util/assert.js';
import { NodeKind, type ZNode } from './znode.js';

export const SNAPSHOT_FORMAT = 'zgate-datatree';
export const SNAPSHOT_VERSION = 1;

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
export interface SnapshotSource {
  root: ZNode;
  zxid: Zxid;
  nodes: number;
  dataBytes: number;
  owners: number;
  ttls: number;
}

// Costs in ticks, measured against writing a node (~1 µs with 100 bytes of data): step(budget)
// spends budget * TICKS_PER_NODE.
const TICKS_PER_NODE = 8;
const TICK_NAME = 1; // a child name looked at (and perhaps skipped)
const TICK_COLLECT = 0.1; // a key taken from a large directory's map
const TICK_MERGE = 0.4; // a name moved by one merge pass
const TICK_RUN = 0.5; // a name sorted into a first-pass run
const COPY_BYTES_PER_TICK = 256;
const SPILL_CHUNK = 1 << 20;

const TWO_63 = 1n << 63n;

/** The mutable fields of a node as they were at Z. */
class PreImage {
  readonly data: Uint8Array;
  readonly version: number;
  readonly mzxid: number;
  readonly mtime: number;
  readonly cversion: number;
  readonly pzxid: number;
  readonly numChildren: number;
  constructor(node: ZNode) {
    this.data = node.data;
    this.version = node.version;
    this.mzxid = node.mzxid;
    this.mtime = node.mtime;
    this.cversion = node.cversion;
    this.pzxid = node.pzxid;
    this.numChildren = node.numChildren;
  }
}

/** Sorted names as a list of chunks: no array of a million slots is ever allocated at once. */
type Chunks = string[][];

/** Names per chunk of a merged run (128 KiB of slots). */
const CHUNK = 16_384;

const SortPhase = { Collect: 0, Merge: 1, Done: 2 } as const;
type SortPhase = (typeof SortPhase)[keyof typeof SortPhase];

/**
 * The names of a large directory's children as of Z, sorted a slice at a time: collected from
 * the live map (which may change between slices: a key added later belongs to a node with
 * czxid > Z, which the frame skips; a key deleted before it is reached is in the graveyard; a
 * rolled-back delete may come twice and the frame takes it once) into sorted runs, then merged
 * pairwise, pass after pass. Runs are lists of chunks, so that no step allocates (and faults
 * in) a large array at once.
 */
class SortJob {
  private phase: SortPhase = SortPhase.Collect;
  private it: IterableIterator<string> | null;
  private cur: string[] = [];
  /** This pass's runs (from `qi` on) and the next pass's. */
  private runs: Chunks[] = [];
  private qi = 0;
  private next: Chunks[] = [];
  // The pair being merged: run, chunk and index in it, for each side; the output run.
  private a: Chunks | null = null;
  private b: Chunks = [];
  private ac = 0;
  private ai = 0;
  private bc = 0;
  private bi = 0;
  private out: Chunks = [];
  private outChunk: string[] = [];
  private sorted: Chunks = [];

  constructor(
    children: Map<string, ZNode>,
    private readonly run: number,
  ) {
    this.it = children.keys();
  }

  get done(): boolean {
    return this.phase === SortPhase.Done;
  }

  get result(): Chunks {
    assert(this.phase === SortPhase.Done, 'sort result before the sort is done');
    return this.sorted;
  }

  /** Spends up to `ticks` (at least some); returns what it spent. */
  work(ticks: number): number {
    let spent = 0;
    while (spent < ticks && this.phase !== SortPhase.Done) {
      if (this.phase === SortPhase.Collect) spent += this.collect(ticks - spent);
      else spent += this.merge(ticks - spent);
    }
    return spent;
  }

  private collect(ticks: number): number {
    const want = Math.max(1, Math.ceil(ticks / (TICK_COLLECT + TICK_RUN)));
    const run = this.run;
    let cur = this.cur;
    let got = 0;
    // A Map iterator has no return(): leaving the loop early leaves it where it stopped.
    for (const name of this.it!) {
      cur.push(name);
      if (cur.length >= run) {
        this.runs.push([cur.sort()]);
        cur = [];
      }
      if (++got >= want) break;
    }
    this.cur = cur;
    if (got < want) {
      if (cur.length > 0) this.runs.push([cur.sort()]);
      this.cur = [];
      this.it = null;
      this.phase = SortPhase.Merge;
    }
    return Math.max(1, got) * (TICK_COLLECT + TICK_RUN);
  }

  private merge(ticks: number): number {
    let spent = 0;
    while (spent < ticks) {
      if (this.a === null) {
        const left = this.runs.length - this.qi;
        if (left >= 2) {
          this.a = this.runs[this.qi++]!;
          this.b = this.runs[this.qi++]!;
          this.ac = this.ai = this.bc = this.bi = 0;
          this.out = [];
          this.outChunk = [];
        } else {
          if (left === 1) this.next.push(this.runs[this.qi++]!);
          if (this.next.length <= 1) {
            this.sorted = this.next[0] ?? [];
            this.runs = this.next = [];
            this.phase = SortPhase.Done;
            return spent + 1;
          }
          this.runs = this.next;
          this.next = [];
          this.qi = 0;
        }
        spent += 1;
        continue;
      }
      spent += this.mergeSome(Math.max(1, Math.ceil((ticks - spent) / TICK_MERGE))) * TICK_MERGE;
    }
    return spent;
  }

  /** Moves up to `n` names of the current pair to the output run; returns how many. */
  private mergeSome(n: number): number {
    const a = this.a!;
    const b = this.b;
    let ac = this.ac;
    let ai = this.ai;
    let bc = this.bc;
    let bi = this.bi;
    let outChunk = this.outChunk;
    let moved = 0;
    while (moved < n) {
      const x = ac < a.length ? a[ac]![ai] : undefined;
      const y = bc < b.length ? b[bc]![bi] : undefined;
      let m: string;
      if (x !== undefined && (y === undefined || x <= y)) {
        m = x;
        if (++ai === a[ac]!.length) {
          ac++;
          ai = 0;
        }
      } else if (y !== undefined) {
        m = y;
        if (++bi === b[bc]!.length) {
          bc++;
          bi = 0;
        }
      } else {
        // Both sides used up: the merged run goes to the next pass.
        if (outChunk.length > 0) this.out.push(outChunk);
        this.next.push(this.out);
        this.a = null;
        this.out = [];
        this.outChunk = [];
        return moved;
      }
      outChunk.push(m);
      if (outChunk.length === CHUNK) {
        this.out.push(outChunk);
        outChunk = [];
      }
      moved++;
    }
    this.ac = ac;
    this.ai = ai;
    this.bc = bc;
    this.bi = bi;
    this.outChunk = outChunk;
    return moved;
  }
}

/** An open node: its children as of Z, walked by name. */
class Frame {
  /** Position in `names` (chunk, index) and in `gone`; the last name looked at (siblings are never ''). */
  ci = 0;
  ni = 0;
  gi = 0;
  last = '';
  count = 0;
  constructor(
    readonly node: ZNode,
    /** Its child count at Z, to check the walk against. */
    readonly expected: number,
    /** Sorted live names at open (held cache, private copy) or, once sorted, a large directory's. */
    public names: Chunks,
    /** The node's own sorted cache when `names` is it: the tree must then not change it in place. */
    readonly held: string[] | null,
    /** Names of children at Z deleted before the frame opened (or its sort ended), sorted. */
    public gone: string[],
    public sort: SortJob | null,
  ) {}
}

const State = { Walk: 0, Copy: 1, Done: 2, Finished: 3, Aborted: 4 } as const;
type State = (typeof State)[keyof typeof State];

function strHeaderSize(len: number): number {
  return len < 32 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 5;
}

function binHeaderSize(len: number): number {
  return len < 0x100 ? 2 : len < 0x10000 ? 3 : 5;
}

function arrayHeaderSize(len: number): number {
  return len < 16 ? 1 : len < 0x10000 ? 3 : 5;
}

function uintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x100 ? 2 : v < 0x10000 ? 3 : v <= 0xffffffff ? 5 : 9;
}

/** UTF-8 length of a znode name (names hold no surrogates: every char is 1 to 3 bytes). */
function utf8Length(s: string): number {
  let len = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) len += c >= 0x800 ? 2 : 1;
  }
  return len;
}

/** Writes msgpack values into one buffer. Lengths and headers big-endian, as msgpack says. */
class Out {
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
    const n = src.nodes;
    const key = (k: string): number => 1 + k.length;
    let size = prefix.length + 1; // the prefix, a fixmap of 10
    size += key('format') + strHeaderSize(SNAPSHOT_FORMAT.length) + SNAPSHOT_FORMAT.length;
    size += key('v') + 1;
    size += key('lastZxid') + uintSize(src.zxid);
    size += key('zxids') + binHeaderSize(24 * n) + 24 * n;
    size += key('times') + binHeaderSize(16 * n) + 16 * n;
    size += key('ints') + binHeaderSize(20 * n) + 20 * n;
    size += key('owners') + arrayHeaderSize(src.owners) + 9 * src.owners;
    size += key('ttls') + arrayHeaderSize(src.ttls) + 9 * src.ttls;
    size += key('data') + binHeaderSize(src.dataBytes) + src.dataBytes;
    size += key('names') + arrayHeaderSize(n);
    const reserve = Math.ceil(n * tuning.nameBytesPerNode);
    const out = new Out(new Uint8Array(size + reserve));
    this.out = out;
    out.buf.set(prefix, 0);
    let at = prefix.length;
    out.buf[at++] = 0x8a;
    const k = (s: string): void => {
      at = out.str(at, s, s.length);
    };
    k('format');
    at = out.str(at, SNAPSHOT_FORMAT, SNAPSHOT_FORMAT.length);
    k('v');
    at = out.uint(at, SNAPSHOT_VERSION);
    k('lastZxid');
    at = out.uint(at, src.zxid);
    k('zxids');
    at = out.binHeader(at, 24 * n);
    this.zxidsAt = at;
    at += 24 * n;
    k('times');
    at = out.binHeader(at, 16 * n);
    this.timesAt = at;
    at += 16 * n;
    k('ints');
    at = out.binHeader(at, 20 * n);
    this.intsAt = at;
    at += 20 * n;
    k('owners');
    at = out.arrayHeader(at, src.owners);
    this.ownersAt = at;
    at += 9 * src.owners;
    k('ttls');
    at = out.arrayHeader(at, src.ttls);
    this.ttlsAt = at;
    at += 9 * src.ttls;
    k('data');
    at = out.binHeader(at, src.dataBytes);
    this.dataAt = at;
    at += src.dataBytes;
    k('names');
    at = out.arrayHeader(at, n);
    assert(at === size, () => `snapshot layout: ${at} != ${size}`);
    this.namesEnd = at;
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

  /** Before a set on `node`. */
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
      const name = this.nextName(f);
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

  /** The next child name of `f` in order, each once: its live names at open merged with the graveyard's. */
  private nextName(f: Frame): string | undefined {
    const a = f.names;
    const g = f.gone;
    for (;;) {
      while (f.ci < a.length && f.ni >= a[f.ci]!.length) {
        f.ci++;
        f.ni = 0;
      }
      let m: string;
      if (f.ci < a.length) {
        const x = a[f.ci]![f.ni]!;
        if (f.gi < g.length && g[f.gi]! < x) m = g[f.gi++]!;
        else {
          m = x;
          f.ni++;
        }
      } else if (f.gi < g.length) m = g[f.gi++]!;
      else return undefined;
      if (m !== f.last) {
        f.last = m;
        return m;
      }
    }
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
    at = this.intsAt + 20 * i;
    v.setInt32(at, kids, true);
    v.setInt32(at + 4, p === undefined ? node.version : p.version, true);
    v.setInt32(at + 8, p === undefined ? node.cversion : p.cversion, true);
    v.setInt32(at + 12, node.kind, true);
    v.setInt32(at + 16, data.length, true);
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
