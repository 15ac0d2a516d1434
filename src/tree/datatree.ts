/**
 * The replicated znode tree: a pure, deterministic state machine. Every member applies the
 * same Ops at the same zxids with the leader's timestamps and so holds an identical tree.
 *
 * Failed ops change nothing. Each write runs against an undo log and is rolled back on
 * failure, which makes a multi atomic without copying the tree and without a second,
 * "prepare" implementation of every rule that could disagree with this one.
 */
import {
  isEphemeral,
  isSequential,
  isTtlMode,
  type ApplyOutcome,
  type CheckResult,
  type CreateMode,
  type CreateResult,
  type DeleteResult,
  type DeleteTreeResult,
  type MultiResult,
  type Op,
  type OpFailure,
  type OpResult,
  type ReapResult,
  type SessionId,
  type SetAclResult,
  type SetResult,
  type Stat,
  type SubOp,
  type SubResult,
  type TreeEvent,
  type Zxid,
} from '../core/types.js';
import { Perms, READ_ACL_UNSAFE, type Access, type Acl } from '../core/acl.js';
import { assert } from '../util/assert.js';
import { AclCache, type AclRef } from './acl-cache.js';
import { aclDenial, subtreeDenial } from './acl-check.js';
import { subtreeSize, treeDigest } from './walk.js';
import { encode } from '../util/codec.js';
import { childPath, ROOT } from './path.js';
import { readSnapshot } from './snapshot/reader.js';
import { CowSnapshot, DEFAULT_TUNING, type SnapshotOptions, type SnapshotWriter } from './snapshot/writer.js';
import {
  checkOp as checkStatically,
  checkStaticFailure,
  createStaticFailure,
  deleteStaticFailure,
  deleteTreeStaticFailure,
  describe,
  fail,
  formatSequence,
  isFailure,
  isRecord,
  multiFailure,
  multiStaticFailure,
  pathFailure,
  reapStaticFailure,
  resolveOptions,
  setAclStaticFailure,
  setStaticFailure,
  type DataTreeOptions,
  type Unchecked,
  validateOp as validateStatically,
} from './validate.js';
import { KindIndex } from './kind-index.js';
import { EMPTY_DATA, NodeKind, ZNode } from './znode.js';

export type { DataTreeOptions } from './validate.js';
export { DEFAULT_MAX_DATA_BYTES, MAX_TTL_MS, formatSequence } from './validate.js';
export type { SnapshotOptions, SnapshotTuning, SnapshotWriter } from './snapshot/writer.js';


/**
 * The replicated session table as apply() sees it: an ephemeral create (also inside a multi)
 * for a session that is not open fails with SessionExpired. Without it, owners are not checked.
 */
export interface OpenSessions {
  isOpen(id: SessionId): boolean;
  /** Whether the entry's writer may create ephemerals in this session (it belongs to one of its ids). */
  mayUse?(id: SessionId, access: Access): boolean;
}

const UndoKind = { Create: 0, Delete: 1, Set: 2 } as const;
type UndoKind = (typeof UndoKind)[keyof typeof UndoKind];

/** One shape for every undo record, so the log stays a monomorphic array. */
class Undo {
  constructor(
    readonly kind: UndoKind,
    readonly node: ZNode,
    readonly parent: ZNode | null,
    readonly name: string,
    readonly path: string,
    /** The parent's stored cversion and pzxid before a create or delete. */
    readonly cversion: number,
    readonly pzxid: number,
    /** The node's data, version, mzxid and mtime before a set. */
    readonly data: Uint8Array,
    readonly version: number,
    readonly mzxid: number,
    readonly mtime: number,
  ) {}
}

function copyData(data: Uint8Array): Uint8Array {
  // A plain copy: callers reuse their buffers, and a Buffer's slice() would be a view.
  return data.length === 0 ? EMPTY_DATA : new Uint8Array(data);
}

function kindOf(mode: CreateMode): NodeKind {
  if (isEphemeral(mode)) return NodeKind.Ephemeral;
  if (isTtlMode(mode)) return NodeKind.Ttl;
  return mode === 'container' ? NodeKind.Container : NodeKind.Persistent;
}

function splitParent(path: string): { parentPath: string; name: string } {
  const slash = path.lastIndexOf('/');
  return { parentPath: slash <= 0 ? ROOT : path.slice(0, slash), name: path.slice(slash + 1) };
}

export class DataTree {
  private readonly opts: DataTreeOptions;
  private root: ZNode;
  private _lastZxid: Zxid = 0;
  private _nodeCount = 0;
  private _dataBytes = 0;
  private readonly byKind = new KindIndex();
  private acls = new AclCache();
  /**
   * Set for the duration of apply(): who the entry's writer is, whose permissions every check
   * of the op is decided with; null for the member's own entries (expiry, reaping), which no
   * ACL restricts, as in ZooKeeper.
   */
  private access: Access | null = null;
  /** Non-null while an op runs: what to undo should it fail. */
  private undo: Undo[] | null = null;
  /** Set for the duration of apply(): the sessions an ephemeral create may name. */
  private openSessions: OpenSessions | null = null;
  /** Non-null while an incremental snapshot is walking: it keeps pre-images of what changes. */
  private snap: CowSnapshot | null = null;
  /** Names bytes per node in the last snapshot: how much room the next one reserves for them. */
  private nameBytesHint = DEFAULT_TUNING.nameBytesPerNode;

  constructor(opts?: Partial<DataTreeOptions>) {
    this.opts = resolveOptions(opts);
    this.root = this.freshNode(this.acls.open);
    // ZooKeeper's fresh tree: children added without counting as creates, so every stored
    // cversion is 0 and '/' reports cversion -1 (0*2 - 1 child). /zookeeper/config is
    // world-readable only, with ACL version -1, and nothing can write it.
    const zookeeper = this.freshNode(this.acls.open);
    const config = this.freshNode(this.acls.intern(READ_ACL_UNSAFE));
    config.aversion = -1;
    zookeeper.children = new Map([
      ['quota', this.freshNode(this.acls.open)],
      ['config', config],
    ]);
    this.root.children = new Map([['zookeeper', zookeeper]]);
    this._nodeCount = 4;
  }

  private freshNode(acl: AclRef): ZNode {
    this.acls.hold(acl);
    return new ZNode(EMPTY_DATA, 0, 0, 0, 0, 0, NodeKind.Persistent, 0n, 0, acl);
  }

  // ---------------------------------------------------------------- reads

  get lastZxid(): Zxid {
    return this._lastZxid;
  }

  get nodeCount(): number {
    return this._nodeCount;
  }

  get dataBytes(): number {
    return this._dataBytes;
  }

  get(path: string): { data: Uint8Array; stat: Stat } | undefined {
    const node = this.lookup(path);
    return node === undefined ? undefined : { data: node.data, stat: node.stat() };
  }

  stat(path: string): Stat | undefined {
    return this.lookup(path)?.stat();
  }

  /** getACL: the znode's ACL (interned: never modify it) and its stat. */
  aclOf(path: string): { acl: readonly Acl[]; stat: Stat } | undefined {
    const node = this.lookup(path);
    return node === undefined ? undefined : { acl: node.acl.list, stat: node.stat() };
  }

  /** The znode's ACL (interned: never modify it); undefined when there is no znode. */
  aclAt(path: string): readonly Acl[] | undefined {
    return this.lookup(path)?.acl.list;
  }

  /** Distinct ACL lists held by the tree's znodes (the open list counts always). */
  get aclLists(): number {
    return this.acls.size;
  }

  has(path: string): boolean {
    return this.lookup(path) !== undefined;
  }

  children(path: string): string[] | undefined {
    const node = this.lookup(path);
    return node === undefined ? undefined : node.sortedChildren().slice();
  }

  /** Ephemeral znodes in the tree, all sessions together. */
  get ephemeralCount(): number {
    return this.byKind.ephemeralCount;
  }

  ephemeralsOf(owner: SessionId): string[] {
    return this.byKind.ephemeralsOf(owner);
  }

  /** Every session that owns at least one ephemeral znode, ascending. */
  ephemeralOwners(): SessionId[] {
    return this.byKind.ephemeralOwners();
  }

  containerCandidates(): string[] {
    return this.byKind.containerCandidates();
  }

  ttlCandidates(nowMs: number): string[] {
    return this.byKind.ttlCandidates(nowMs);
  }

  /** The node at `path`; undefined for a missing node or any string that is not a valid path. */
  private lookup(path: string): ZNode | undefined {
    if (typeof path !== 'string' || path.charCodeAt(0) !== 0x2f) return undefined;
    if (path.length === 1) return this.root;
    let node = this.root;
    let start = 1;
    for (;;) {
      const end = path.indexOf('/', start);
      const next = node.children?.get(end === -1 ? path.slice(start) : path.slice(start, end));
      if (next === undefined) return undefined;
      if (end === -1) return next;
      node = next;
      start = end + 1;
    }
  }

  // ---------------------------------------------------------------- validation

  /** The first failure among the checks that need no tree state (validate.ts: checkOp). */
  static checkOp(op: Op, opts?: Partial<DataTreeOptions>): OpFailure | undefined {
    return checkStatically(op, opts);
  }

  /** Throws what apply() would fail with for a reason that needs no tree state (validate.ts: validateOp). */
  static validateOp(op: Op, opts?: Partial<DataTreeOptions>): void {
    validateStatically(op, opts);
  }

  /**
   * What apply() would answer for `op` on this tree as it stands, for an op that fails a check
   * needing no state (undefined when none does: the op must go through the log). For a multi,
   * ZooKeeper checks the ops in order, so an earlier op that fails on the tree's state is the
   * answer rather than a later op's bad argument: the ops before the bad one run here against
   * the undo log and are always rolled back.
   */
  precheck(op: Op, access?: Access): OpFailure | undefined {
    const f = DataTree.checkOp(op, this.opts);
    if (f === undefined || f.opIndex === undefined || op.op !== 'multi') return f;
    assert(this.undo === null, 'precheck re-entered');
    this.access = access ?? null;
    const ops = op.ops as unknown as Unchecked[];
    this.undo = [];
    const aclIds = this.acls.nextId;
    try {
      for (let i = 0; i < f.opIndex; i++) {
        const r = this.subOp(ops[i]!, this._lastZxid + 1, 0, []);
        if (isFailure(r)) {
          return multiFailure(ops, i, r);
        }
      }
      return f;
    } finally {
      this.rollback();
      this.undo = null;
      this.access = null;
      this.acls.nextId = aclIds;
    }
  }

  // ---------------------------------------------------------------- apply

  /**
   * Applies `op` as the entry at `zxid`, stamped `timeMs` by its proposer. With `sessions`,
   * an ephemeral create naming a session that is not open fails with SessionExpired. With
   * `access`, every check ZooKeeper makes is made with the writer's ids and scope (NoAuth);
   * without, none (the member's own entries).
   */
  apply(op: Op, zxid: Zxid, timeMs: number, sessions?: OpenSessions, access?: Access): ApplyOutcome {
    assert(Number.isSafeInteger(zxid) && zxid > this._lastZxid, () => `apply at zxid ${zxid} after zxid ${this._lastZxid}`);
    assert(Number.isSafeInteger(timeMs), () => `apply with time ${timeMs}`);
    assert(this.undo === null, 'apply re-entered');
    this._lastZxid = zxid;
    const events: TreeEvent[] = [];
    this.openSessions = sessions ?? null;
    this.access = access ?? null;
    let r: OpResult | OpFailure;
    try {
      r = this.applyUnchecked(op, zxid, timeMs, events);
    } finally {
      this.openSessions = null;
      this.access = null;
    }
    return isFailure(r) ? { ok: false, failure: r, events: [] } : { ok: true, result: r, events };
  }

  private applyUnchecked(op: unknown, zxid: Zxid, time: number, events: TreeEvent[]): OpResult | OpFailure {
    if (!isRecord(op)) return fail('BadArguments', 'an op must be an object');
    switch (op.op) {
      case 'noop':
        return { op: 'noop' };
      case 'create':
      case 'set':
      case 'delete':
      case 'check':
        return this.atomically(() => this.subOp(op, zxid, time, events));
      case 'deleteTree':
        return this.deleteTree(op, zxid, events);
      case 'reap':
        return this.atomically(() => this.reap(op, zxid, time, events));
      case 'setAcl':
        return this.setAcl(op);
      case 'multi':
        return this.multi(op, zxid, time, events);
      default:
        return fail('BadArguments', `unknown op ${describe(op.op)}`);
    }
  }

  private atomically<T extends object>(fn: () => T | OpFailure): T | OpFailure {
    this.undo = [];
    try {
      const r = fn();
      if (isFailure(r)) this.rollback();
      return r;
    } catch (e) {
      this.rollback();
      throw e;
    } finally {
      this.undo = null;
    }
  }

  private subOp(op: Unchecked, zxid: Zxid, time: number, events: TreeEvent[]): SubResult | OpFailure {
    switch (op.op as SubOp['op']) {
      case 'create':
        return this.create(op, zxid, time, events);
      case 'set':
        return this.set(op, zxid, time, events);
      case 'delete':
        return this.delete(op, zxid, events);
      case 'check':
        return this.check(op);
    }
  }

  /**
   * ZooKeeper's order: mode and ttl, parent exists (NoNode), suffix appended, full path
   * valid, NodeExists, then an ephemeral parent (so NodeExists wins over NoChildrenForEphemerals).
   */
  private create(op: Unchecked, zxid: Zxid, time: number, events: TreeEvent[]): CreateResult | OpFailure {
    const s = createStaticFailure(op, this.opts);
    if (s) return s;
    const path = op.path as string;
    const mode = op.mode as CreateMode;
    // ZooKeeper checks the session before anything about the znode.
    if (isEphemeral(mode) && this.openSessions !== null) {
      if (!this.openSessions.isOpen(op.owner as bigint)) return fail('SessionExpired', `session ${String(op.owner)} is unknown, closed or expired`, path);
      if (this.access !== null && this.openSessions.mayUse?.(op.owner as bigint, this.access) === false) {
        return fail('NoAuth', `session ${String(op.owner)} belongs to another identity`, path);
      }
    }
    const sequential = isSequential(mode);
    const acl = op.acl === undefined || op.acl === null ? this.acls.open : this.acls.intern(op.acl as Acl[]);
    if (op.parents === true) {
      // Without a NoNode to report first, the path can be checked before any ancestor is made.
      const p = pathFailure(path, sequential) ?? this.createAncestors(path, acl, zxid, time, events);
      if (p) return p;
    }
    const { parentPath, name: requestedName } = splitParent(path);
    const parent = this.lookup(parentPath);
    if (parent === undefined) return fail('NoNode', `parent ${JSON.stringify(parentPath)} does not exist`, path);
    const suffix = sequential ? formatSequence(parent.cversion) : '';
    const finalPath = path + suffix;
    // A token's prefix is decided on the znode the create makes: '/app' + suffix is a sibling
    // of /app, outside a '/app' scope as '/apple' is. The refusal names the requested path
    // (a caller without CREATE learns no sequence number).
    const denied = this.denied(parent, Perms.CREATE, path, parentPath, finalPath);
    if (denied) return denied;
    const p = pathFailure(finalPath);
    if (p) return p;
    const name = requestedName + suffix;
    if (finalPath === ROOT || parent.children?.has(name) === true) {
      return fail('NodeExists', `${JSON.stringify(finalPath)} already exists`, finalPath);
    }
    if (parent.kind === NodeKind.Ephemeral) {
      return fail('NoChildrenForEphemerals', `${JSON.stringify(parentPath)} is ephemeral and cannot have children`, finalPath);
    }
    const kind = kindOf(mode);
    const node = new ZNode(
      copyData(op.data as Uint8Array),
      zxid,
      zxid,
      zxid,
      time,
      time,
      kind,
      kind === NodeKind.Ephemeral ? (op.owner as bigint) : 0n,
      kind === NodeKind.Ttl ? (op.ttl as number) : 0,
      acl,
    );
    this.insert(parent, parentPath, name, finalPath, node, zxid, events);
    return { op: 'create', path: finalPath, stat: node.stat() };
  }

  /**
   * NoAuth unless the entry's writer may `perm` on `node` (at `aclPath`); the token scope is
   * decided on `scopePath`, the znode the op is about (a create's new path, a delete's victim),
   * and the refusal names `path`.
   */
  private denied(node: ZNode, perm: number, path: string, aclPath: string, scopePath = path): OpFailure | null {
    return aclDenial(this.access, node, perm, path, aclPath, scopePath);
  }

  /** mkdir -p: each missing ancestor is a real persistent create with its own events, its parent's CREATE checked, and `acl`. */
  private createAncestors(path: string, acl: AclRef, zxid: Zxid, time: number, events: TreeEvent[]): OpFailure | null {
    const lastSlash = path.lastIndexOf('/');
    let node = this.root;
    let nodePath = ROOT;
    let start = 1;
    while (start < lastSlash) {
      const end = path.indexOf('/', start);
      const name = path.slice(start, end);
      const next = node.children?.get(name);
      const nextPath = path.slice(0, end);
      if (next !== undefined) {
        node = next;
      } else {
        const denied = this.denied(node, Perms.CREATE, nextPath, nodePath);
        if (denied) return denied;
        if (node.kind === NodeKind.Ephemeral) {
          return fail('NoChildrenForEphemerals', `${JSON.stringify(nodePath)} is ephemeral and cannot have children`, path);
        }
        const created = new ZNode(EMPTY_DATA, zxid, zxid, zxid, time, time, NodeKind.Persistent, 0n, 0, acl);
        this.insert(node, nodePath, name, nextPath, created, zxid, events);
        node = created;
      }
      nodePath = nextPath;
      start = end + 1;
    }
    return null;
  }

  private set(op: Unchecked, zxid: Zxid, time: number, events: TreeEvent[]): SetResult | OpFailure {
    const s = setStaticFailure(op, this.opts);
    if (s) return s;
    const path = op.path as string;
    const node = this.lookup(path);
    if (node === undefined) return fail('NoNode', `${JSON.stringify(path)} does not exist`, path);
    const v = this.denied(node, Perms.WRITE, path, path) ?? this.versionMismatch(node, op.version as number, path);
    if (v) return v;
    this.setData(node, path, op.data as Uint8Array, zxid, time, events);
    return { op: 'set', path, stat: node.stat() };
  }

  private delete(op: Unchecked, zxid: Zxid, events: TreeEvent[]): DeleteResult | OpFailure {
    const s = deleteStaticFailure(op);
    if (s) return s;
    const path = op.path as string;
    const { parentPath, name } = splitParent(path);
    const parent = this.lookup(parentPath);
    if (parent === undefined) return fail('NoNode', `${JSON.stringify(path)} does not exist`, path);
    // DELETE on the parent before the node's own existence, so a denied caller learns nothing of it.
    const denied = this.denied(parent, Perms.DELETE, path, parentPath);
    if (denied) return denied;
    const node = parent.children?.get(name);
    if (node === undefined) return fail('NoNode', `${JSON.stringify(path)} does not exist`, path);
    // ZooKeeper checks the version before emptiness.
    const v = this.versionMismatch(node, op.version as number, path);
    if (v) return v;
    if (node.children !== null) {
      return fail('NotEmpty', `${JSON.stringify(path)} has ${node.children.size} children`, path);
    }
    this.remove(parent, parentPath, name, path, node, zxid, events);
    return { op: 'delete', path };
  }

  private check(op: Unchecked): CheckResult | OpFailure {
    const s = checkStaticFailure(op);
    if (s) return s;
    const path = op.path as string;
    const node = this.lookup(path);
    if (node === undefined) return fail('NoNode', `${JSON.stringify(path)} does not exist`, path);
    return this.denied(node, Perms.READ, path, path) ?? this.versionMismatch(node, op.version as number, path) ?? { op: 'check', path };
  }

  private versionMismatch(node: ZNode, version: number, path: string): OpFailure | null {
    if (version === -1 || version === node.version) return null;
    return fail('BadVersion', `version ${version} does not match the current version ${node.version} of ${JSON.stringify(path)}`, path);
  }

  /**
   * Atomic by construction rather than by undo: every check comes before the first
   * deletion, and nothing after it can fail. Children go before their parent, in name order.
   */
  private deleteTree(op: Unchecked, zxid: Zxid, events: TreeEvent[]): DeleteTreeResult | OpFailure {
    const s = deleteTreeStaticFailure(op);
    if (s) return s;
    const path = op.path as string;
    const maxNodes = op.maxNodes as number;
    const { parentPath, name } = splitParent(path);
    const parent = this.lookup(parentPath);
    if (parent === undefined) return fail('NoNode', `${JSON.stringify(path)} does not exist`, path);
    const denied = this.denied(parent, Perms.DELETE, path, parentPath);
    if (denied) return denied;
    const top = parent.children?.get(name);
    if (top === undefined) return fail('NoNode', `${JSON.stringify(path)} does not exist`, path);
    const v = this.versionMismatch(top, op.version as number, path);
    if (v) return v;
    const count = subtreeSize(top);
    if (count > maxNodes) {
      return fail(
        'BadArguments',
        `${JSON.stringify(path)} has ${count} znodes in its subtree, more than the bound of ${maxNodes}; nothing was deleted`,
        path,
      );
    }
    const subtreeDenied = subtreeDenial(this.access, top, path);
    if (subtreeDenied) return subtreeDenied;
    const nodes: ZNode[] = [top];
    const paths: string[] = [path];
    const parents: ZNode[] = [parent];
    const parentPaths: string[] = [parentPath];
    const names: string[] = [name];
    const pending: string[][] = [DataTree.takeSortedNames(top)];
    while (nodes.length > 0) {
      const d = nodes.length - 1;
      const node = nodes[d]!;
      const rest = pending[d]!;
      if (rest.length > 0) {
        // Names were taken in reverse, so pop() yields them in ascending order.
        const childName = rest.pop()!;
        const child = node.children!.get(childName)!;
        parents.push(node);
        parentPaths.push(paths[d]!);
        nodes.push(child);
        paths.push(childPath(paths[d]!, childName));
        names.push(childName);
        pending.push(DataTree.takeSortedNames(child));
      } else {
        this.remove(parents[d]!, parentPaths[d]!, names[d]!, paths[d]!, node, zxid, events);
        nodes.pop();
        paths.pop();
        parents.pop();
        parentPaths.pop();
        names.pop();
        pending.pop();
      }
    }
    return { op: 'deleteTree', path, deleted: count };
  }

  /**
   * The leader's clean-up of a container or TTL znode, decided again here with the entry's
   * time so that it changes nothing when the znode changed since the leader's sweep:
   * a container once it has had a child (stored cversion > 0) and has none; a TTL znode with
   * no children whose data is unchanged for longer than its ttl (and, when given, still at
   * `version`). ZooKeeper's ContainerManager rules; otherwise a harmless failure.
   */
  private reap(op: Unchecked, zxid: Zxid, time: number, events: TreeEvent[]): ReapResult | OpFailure {
    const s = reapStaticFailure(op);
    if (s) return s;
    const path = op.path as string;
    const kind = op.kind as ReapResult['kind'];
    const { parentPath, name } = splitParent(path);
    const parent = this.lookup(parentPath);
    const node = parent?.children?.get(name);
    if (parent === undefined || node === undefined) return fail('NoNode', `${JSON.stringify(path)} does not exist`, path);
    if (node.kind !== (kind === 'container' ? NodeKind.Container : NodeKind.Ttl)) {
      return fail('BadArguments', `${JSON.stringify(path)} is not a ${kind === 'container' ? 'container' : 'TTL'} znode`, path);
    }
    if (node.children !== null) return fail('NotEmpty', `${JSON.stringify(path)} has ${node.children.size} children`, path);
    if (kind === 'container') {
      if (node.cversion <= 0) return fail('BadArguments', `container ${JSON.stringify(path)} never had a child`, path);
    } else {
      if (typeof op.version === 'number' && op.version !== node.version) return this.versionMismatch(node, op.version, path)!;
      if (!(time - node.mtime > node.ttl)) {
        return fail('BadArguments', `TTL znode ${JSON.stringify(path)} changed ${time - node.mtime} ms ago, within its ttl of ${node.ttl} ms`, path);
      }
    }
    this.remove(parent, parentPath, name, path, node, zxid, events);
    return { op: 'reap', path, kind };
  }

  /**
   * ZooKeeper's setACL: path, InvalidACL (both stateless), NoNode, NoAuth (ADMIN), BadVersion
   * against the aversion; the ACL and aversion change, nothing else, and no watch fires.
   */
  private setAcl(op: Unchecked): SetAclResult | OpFailure {
    const s = setAclStaticFailure(op);
    if (s) return s;
    const path = op.path as string;
    const node = this.lookup(path);
    if (node === undefined) return fail('NoNode', `${JSON.stringify(path)} does not exist`, path);
    const denied = this.denied(node, Perms.ADMIN, path, path);
    if (denied) return denied;
    const version = op.version as number;
    if (version !== -1 && version !== node.aversion) {
      return fail('BadVersion', `ACL version ${version} does not match the current ACL version ${node.aversion} of ${JSON.stringify(path)}`, path);
    }
    const acl = this.acls.intern(op.acl as Acl[]);
    if (this.snap !== null) this.snap.beforeSet(node);
    // Hold the new list before releasing the old: they may be the same.
    this.acls.hold(acl);
    this.acls.release(node.acl);
    node.acl = acl;
    node.aversion = (node.aversion + 1) | 0;
    return { op: 'setAcl', path, stat: node.stat() };
  }

  /** A node's child names, descending, and its cache dropped: it is about to be emptied. */
  private static takeSortedNames(node: ZNode): string[] {
    if (node.children === null) return [];
    const names = node.sortedChildren().slice().reverse();
    node.sorted = null;
    return names;
  }

  private multi(op: Unchecked, zxid: Zxid, time: number, events: TreeEvent[]): MultiResult | OpFailure {
    const s = multiStaticFailure(op, this.opts);
    if (s) return s;
    const ops = op.ops as Unchecked[];
    return this.atomically((): MultiResult | OpFailure => {
      const results: SubResult[] = [];
      for (let i = 0; i < ops.length; i++) {
        const r = this.subOp(ops[i]!, zxid, time, events);
        if (isFailure(r)) {
          return multiFailure(ops, i, r);
        }
        results.push(r);
      }
      return { op: 'multi', results };
    });
  }

  // ---------------------------------------------------------------- mutation primitives

  private insert(parent: ZNode, parentPath: string, name: string, path: string, node: ZNode, zxid: Zxid, events: TreeEvent[]): void {
    if (this.snap !== null) this.snap.beforeChildChange(parent);
    if (this.undo !== null) {
      this.undo.push(new Undo(UndoKind.Create, node, parent, name, path, parent.cversion, parent.pzxid, EMPTY_DATA, 0, 0, 0));
    }
    if (parent.children === null) parent.children = new Map();
    assert(!parent.children.has(name), () => `insert over existing ${path}`);
    parent.children.set(name, node);
    const sorted = parent.sorted;
    // Sequential names arrive in order: keep the cache rather than re-sort a long list.
    if (sorted !== null) {
      if (sorted.length === 0 || sorted[sorted.length - 1]! < name) sorted.push(name);
      else parent.sorted = null;
    }
    parent.cversion = (parent.cversion + 1) | 0;
    parent.pzxid = zxid;
    this.index(path, node);
    events.push({ type: 'NodeCreated', path, acl: node.acl.list }, { type: 'NodeChildrenChanged', path: parentPath, acl: parent.acl.list });
  }

  private remove(parent: ZNode, parentPath: string, name: string, path: string, node: ZNode, zxid: Zxid, events: TreeEvent[]): void {
    assert(node.children === null, () => `remove of non-empty ${path}`);
    assert(parent.children !== null && parent.children.get(name) === node, () => `remove of ${path}: not a child of ${parentPath}`);
    if (this.snap !== null) this.snap.beforeRemove(parent, name, node);
    if (this.undo !== null) {
      this.undo.push(new Undo(UndoKind.Delete, node, parent, name, path, parent.cversion, parent.pzxid, EMPTY_DATA, 0, 0, 0));
    }
    parent.children.delete(name);
    const sorted = parent.sorted;
    if (parent.children.size === 0) {
      parent.children = null;
      parent.sorted = null;
    } else if (sorted !== null) {
      // Queues consume from the front: keep the cache for that case too.
      if (sorted[0] === name) sorted.shift();
      else if (sorted[sorted.length - 1] === name) sorted.pop();
      else parent.sorted = null;
    }
    // The stored cversion counts creates only; pzxid never moves backwards.
    if (zxid > parent.pzxid) parent.pzxid = zxid;
    this.unindex(path, node);
    events.push({ type: 'NodeDeleted', path, acl: node.acl.list }, { type: 'NodeChildrenChanged', path: parentPath, acl: parent.acl.list });
  }

  private setData(node: ZNode, path: string, data: Uint8Array, zxid: Zxid, time: number, events: TreeEvent[]): void {
    if (this.snap !== null) this.snap.beforeSet(node);
    if (this.undo !== null) {
      this.undo.push(new Undo(UndoKind.Set, node, null, '', path, 0, 0, node.data, node.version, node.mzxid, node.mtime));
    }
    this._dataBytes += data.length - node.data.length;
    node.data = copyData(data);
    // A Java int: wraps rather than grows past 2^31-1. Identical bytes still count as a change.
    node.version = (node.version + 1) | 0;
    node.mzxid = zxid;
    node.mtime = time;
    events.push({ type: 'NodeDataChanged', path, acl: node.acl.list });
  }

  private rollback(): void {
    const log = this.undo;
    assert(log !== null, 'rollback outside an op');
    for (let i = log.length - 1; i >= 0; i--) {
      const u = log[i]!;
      const node = u.node;
      switch (u.kind) {
        case UndoKind.Create: {
          const parent = u.parent!;
          assert(parent.children !== null && parent.children.get(u.name) === node, () => `undo create of ${u.path}`);
          parent.children.delete(u.name);
          if (parent.children.size === 0) parent.children = null;
          parent.sorted = null;
          parent.cversion = u.cversion;
          parent.pzxid = u.pzxid;
          this.unindex(u.path, node);
          break;
        }
        case UndoKind.Delete: {
          const parent = u.parent!;
          if (parent.children === null) parent.children = new Map();
          assert(!parent.children.has(u.name), () => `undo delete of ${u.path}`);
          parent.children.set(u.name, node);
          parent.sorted = null;
          parent.pzxid = u.pzxid;
          this.index(u.path, node);
          break;
        }
        case UndoKind.Set:
          this._dataBytes += u.data.length - node.data.length;
          node.data = u.data;
          node.version = u.version;
          node.mzxid = u.mzxid;
          node.mtime = u.mtime;
          break;
      }
    }
    log.length = 0;
  }

  /** A node enters the tree (a create, an undone delete): counted, indexed, its ACL held. */
  private index(path: string, node: ZNode): void {
    this._nodeCount++;
    this._dataBytes += node.data.length;
    this.byKind.add(path, node);
    this.acls.hold(node.acl);
  }

  private unindex(path: string, node: ZNode): void {
    this._nodeCount--;
    this._dataBytes -= node.data.length;
    this.byKind.remove(path, node);
    this.acls.release(node.acl);
  }

  // ---------------------------------------------------------------- snapshot, restore, digest

  /**
   * Columns over a pre-order walk with children in name order: a few large msgpack values
   * rather than one record per znode, and the walk order is canonical, so equal trees give
   * equal bytes. The same writer as beginSnapshot()'s, run to the end at once (see snapshot/writer.ts).
   */
  snapshot(prefix?: Uint8Array): Uint8Array {
    const w = this.snapshotWriter(null, prefix === undefined ? {} : { prefix });
    const bytes = w.finish();
    this.nameBytesHint = w.nameBytesPerNode;
    return bytes;
  }

  /**
   * Starts an incremental snapshot of the tree as it is now (at lastZxid): drive it with
   * step() between applies, then finish(). Writes go on meanwhile and the bytes are exactly
   * snapshot()'s at that zxid (copy-on-write, see snapshot/writer.ts). One at a time.
   */
  beginSnapshot(opts: SnapshotOptions = {}): SnapshotWriter {
    assert(this.undo === null, 'beginSnapshot() during an op');
    assert(this.snap === null, 'a snapshot is already being written');
    const w = this.snapshotWriter((done) => {
      if (this.snap === done) this.snap = null;
      // An allocation hint only (the bytes do not depend on it), taken from a complete walk.
      if (done.written === done.nodes) this.nameBytesHint = done.nameBytesPerNode;
    }, opts);
    this.snap = w;
    return w;
  }

  /** Whether an incremental snapshot is walking the tree (mutations then keep pre-images). */
  get snapshotInProgress(): boolean {
    return this.snap !== null;
  }

  private snapshotWriter(detach: ((w: CowSnapshot) => void) | null, opts: SnapshotOptions): CowSnapshot {
    const { prefix, ...tuning } = opts;
    return new CowSnapshot(
      {
        root: this.root,
        zxid: this._lastZxid,
        nodes: this._nodeCount,
        dataBytes: this._dataBytes,
        owners: this.byKind.ephemeralCount,
        ttls: this.byKind.ttlCount,
        acls: encode(this.acls.toSnapshot()),
      },
      { ...DEFAULT_TUNING, nameBytesPerNode: Math.ceil(this.nameBytesHint * 1.05) + 1, ...tuning },
      detach,
      prefix,
    );
  }

  /** The tree a snapshot holds (snapshot/reader.ts checks and rebuilds it); ZgateError('DataInconsistency') if malformed. */
  static restore(bytes: Uint8Array, opts?: Partial<DataTreeOptions>): DataTree {
    const tree = new DataTree(opts);
    tree._nodeCount = 0;
    tree._dataBytes = 0;
    // The reader holds each znode's ACL in the snapshot's own cache, which replaces the fresh one.
    const read = readSnapshot(bytes, (path, node) => {
      tree._nodeCount++;
      tree._dataBytes += node.data.length;
      tree.byKind.add(path, node);
    });
    tree.acls = read.acls;
    tree.root = read.root;
    tree._nodeCount += read.leaves;
    tree._dataBytes += read.leafBytes;
    tree._lastZxid = read.lastZxid;
    return tree;
  }

  /**
   * FNV-1a 64 over the canonical walk of everything a replica must agree on (walk.ts); not
   * lastZxid: equal trees, equal digests.
   */
  digest(): string {
    return treeDigest(this.root);
  }
}
