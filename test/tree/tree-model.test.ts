/**
 * Model-based test: random op sequences applied both to the DataTree and to a small,
 * deliberately naive reference model (one Map of path -> fields, children found by scanning,
 * a multi run on a full copy), compared after every step. Znodes carry ACLs and each op is
 * applied as a random caller (or as an internal entry); the model decides ZooKeeper's checks
 * and their order itself, from the rules, with only core/acl.ts's grant and scope functions
 * (tested on their own in test/core/acl.test.ts).
 */
import fc from 'fast-check';
import { aclGrants, OPEN_ACL_UNSAFE, Perms, READ_ACL_UNSAFE, scopeAdmits, type Access, type Acl } from '../../src/core/acl.js';
import type { ZkCode } from '../../src/core/errors.js';
import {
  CREATE_MODES,
  type ApplyOutcome,
  type CreateMode,
  type Op,
  type Stat,
  type SubOp,
  type SubResult,
  type TreeEvent,
} from '../../src/core/types.js';
import { DataTree } from '../../src/tree/datatree.js';

const MAX_DATA = 16;
const MAX_TTL = 2 ** 40 - 1;

// ------------------------------------------------------------------ the reference model

type Kind = 'persistent' | 'ephemeral' | 'container' | 'ttl';
interface MNode {
  data: Uint8Array;
  czxid: number;
  mzxid: number;
  pzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  creates: number;
  kind: Kind;
  owner: bigint;
  ttl: number;
  acl: readonly Acl[];
  aversion: number;
}

type MFailure = { code: ZkCode; path?: string; opIndex?: number; results?: { op: string; code: ZkCode }[] };
type MOutcome = { ok: true; result: unknown; events: TreeEvent[] } | { ok: false; failure: MFailure };

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

const forbidden = (c: number): boolean => c <= 0x1f || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || c >= 0xfff0;

/** ZooKeeper's path rule, restated independently of src/tree/path.ts. */
function validPath(p: string): boolean {
  if (p === '/') return true;
  if (!p.startsWith('/') || p.endsWith('/')) return false;
  return p
    .slice(1)
    .split('/')
    .every((seg) => seg !== '' && seg !== '.' && seg !== '..' && !Array.from({ length: seg.length }, (_, i) => seg.charCodeAt(i)).some(forbidden));
}

const reserved = (p: string): boolean => p === '/zookeeper' || p.startsWith('/zookeeper/');
const versionOk = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= -1;

class Model {
  nodes = new Map<string, MNode>();
  /** Who the op being applied acts as; undefined for an internal entry (nothing checked). */
  access: Access | undefined;

  static fresh(): Model {
    const m = new Model();
    for (const p of ['/', '/zookeeper', '/zookeeper/quota']) m.nodes.set(p, Model.node(new Uint8Array(0), 0, 0, 'persistent', 0n, 0, OPEN_ACL_UNSAFE));
    // ZooKeeper's /zookeeper/config: world-readable only, ACL version -1.
    m.nodes.set('/zookeeper/config', { ...Model.node(new Uint8Array(0), 0, 0, 'persistent', 0n, 0, READ_ACL_UNSAFE), aversion: -1 });
    return m;
  }

  static node(data: Uint8Array, zxid: number, time: number, kind: Kind, owner: bigint, ttl: number, acl: readonly Acl[]): MNode {
    return { data, czxid: zxid, mzxid: zxid, pzxid: zxid, ctime: time, mtime: time, version: 0, creates: 0, kind, owner, ttl, acl, aversion: 0 };
  }

  /** ZooKeeper's checkACL and the token's scope (decided on `scopePath`); internal entries pass. */
  allowed(acl: readonly Acl[], perm: number, scopePath: string): boolean {
    const a = this.access;
    return a === undefined || (scopeAdmits(a, perm, scopePath) && aclGrants(acl, perm, a));
  }

  clone(): Model {
    const m = new Model();
    for (const [p, n] of this.nodes) m.nodes.set(p, { ...n });
    return m;
  }

  kids(p: string): string[] {
    return [...this.nodes.keys()]
      .filter((k) => k !== '/' && parentOf(k) === p)
      .map((k) => k.slice(k.lastIndexOf('/') + 1))
      .sort();
  }

  stat(p: string): Stat {
    const n = this.nodes.get(p)!;
    const numChildren = this.kids(p).length;
    return {
      czxid: n.czxid,
      mzxid: n.mzxid,
      pzxid: n.pzxid,
      ctime: n.ctime,
      mtime: n.mtime,
      version: n.version,
      cversion: n.creates * 2 - numChildren,
      aversion: n.aversion,
      ephemeralOwner: n.kind === 'ephemeral' ? n.owner : 0n,
      dataLength: n.data.length,
      numChildren,
    };
  }

  addChild(path: string, node: MNode, zxid: number, events: TreeEvent[]): void {
    const parent = this.nodes.get(parentOf(path))!;
    parent.creates++;
    parent.pzxid = zxid;
    this.nodes.set(path, node);
    events.push({ type: 'NodeCreated', path, acl: node.acl }, { type: 'NodeChildrenChanged', path: parentOf(path), acl: parent.acl });
  }

  removeNode(path: string, zxid: number, events: TreeEvent[]): void {
    const parent = this.nodes.get(parentOf(path))!;
    parent.pzxid = Math.max(parent.pzxid, zxid);
    const node = this.nodes.get(path)!;
    this.nodes.delete(path);
    events.push({ type: 'NodeDeleted', path, acl: node.acl }, { type: 'NodeChildrenChanged', path: parentOf(path), acl: parent.acl });
  }

  create(op: SubOp & { op: 'create' }, zxid: number, time: number, events: TreeEvent[]): SubResult | MFailure {
    const { path, mode, data } = op;
    const f = (code: ZkCode, p = path): MFailure => ({ code, path: p });
    if (data.length > MAX_DATA) return f('PayloadTooLarge');
    if (!(CREATE_MODES as readonly string[]).includes(mode)) return f('BadArguments');
    const ttlMode = mode.endsWith('_with_ttl');
    if (ttlMode) {
      if (op.ttl === undefined || !Number.isInteger(op.ttl) || op.ttl < 1 || op.ttl > MAX_TTL) return f('BadArguments');
    } else if (op.ttl !== undefined) return f('BadArguments');
    const eph = mode.startsWith('ephemeral');
    if (eph && (typeof op.owner !== 'bigint' || op.owner === 0n)) return f('BadArguments');
    const seq = mode.includes('sequential');
    if (!path.startsWith('/')) return f('BadArguments');
    if (reserved(seq ? path + '1' : path)) return f('BadArguments');
    // The proposer fixed the ACL up; a malformed one in the entry (here: empty) is refused before the tree is read.
    if (op.acl !== undefined && op.acl.length === 0) return f('InvalidACL');
    const acl = op.acl ?? OPEN_ACL_UNSAFE;
    if (op.parents === true) {
      if (!validPath(seq ? path + '1' : path)) return f('BadArguments');
      const segs = parentOf(path + (seq ? '1' : '')).split('/').slice(1);
      let cur = '';
      for (const s of segs) {
        if (s === '') break;
        const next = cur + '/' + s;
        if (!this.nodes.has(next)) {
          // Each missing level needs CREATE on its own parent, and gets the create's ACL.
          const up = this.nodes.get(cur === '' ? '/' : cur)!;
          if (!this.allowed(up.acl, Perms.CREATE, next)) return f('NoAuth', next);
          if (up.kind === 'ephemeral') return f('NoChildrenForEphemerals');
          this.addChild(next, Model.node(new Uint8Array(0), zxid, time, 'persistent', 0n, 0, acl), zxid, events);
        }
        cur = next;
      }
    }
    const parentPath = path.lastIndexOf('/') <= 0 ? '/' : path.slice(0, path.lastIndexOf('/'));
    const parent = this.nodes.get(parentPath);
    if (parent === undefined) return f('NoNode');
    const finalPath = seq ? path + String(parent.creates).padStart(10, '0') : path;
    // NoAuth before the full path, NodeExists and the ephemeral parent; a token's prefix is about the znode made.
    if (!this.allowed(parent.acl, Perms.CREATE, finalPath)) return f('NoAuth');
    if (!validPath(finalPath)) return f('BadArguments', finalPath);
    if (this.nodes.has(finalPath)) return f('NodeExists', finalPath);
    if (parent.kind === 'ephemeral') return f('NoChildrenForEphemerals', finalPath);
    const kind: Kind = eph ? 'ephemeral' : ttlMode ? 'ttl' : mode === 'container' ? 'container' : 'persistent';
    this.addChild(finalPath, Model.node(data.slice(), zxid, time, kind, eph ? op.owner! : 0n, ttlMode ? op.ttl! : 0, acl), zxid, events);
    return { op: 'create', path: finalPath, stat: this.stat(finalPath) };
  }

  set(op: SubOp & { op: 'set' }, zxid: number, time: number, events: TreeEvent[]): SubResult | MFailure {
    const f = (code: ZkCode): MFailure => ({ code, path: op.path });
    if (op.data.length > MAX_DATA) return f('PayloadTooLarge');
    if (!versionOk(op.version) || !validPath(op.path) || reserved(op.path)) return f('BadArguments');
    const n = this.nodes.get(op.path);
    if (n === undefined) return f('NoNode');
    if (!this.allowed(n.acl, Perms.WRITE, op.path)) return f('NoAuth');
    if (op.version !== -1 && op.version !== n.version) return f('BadVersion');
    n.data = op.data.slice();
    n.version++;
    n.mzxid = zxid;
    n.mtime = time;
    events.push({ type: 'NodeDataChanged', path: op.path, acl: n.acl });
    return { op: 'set', path: op.path, stat: this.stat(op.path) };
  }

  delete(op: SubOp & { op: 'delete' }, zxid: number, events: TreeEvent[]): SubResult | MFailure {
    const f = (code: ZkCode): MFailure => ({ code, path: op.path });
    if (!versionOk(op.version) || !validPath(op.path) || op.path === '/' || reserved(op.path)) return f('BadArguments');
    const parent = this.nodes.get(parentOf(op.path));
    if (parent === undefined) return f('NoNode');
    // DELETE on the parent before the node's own existence: a denied caller learns nothing of it.
    if (!this.allowed(parent.acl, Perms.DELETE, op.path)) return f('NoAuth');
    const n = this.nodes.get(op.path);
    if (n === undefined) return f('NoNode');
    if (op.version !== -1 && op.version !== n.version) return f('BadVersion');
    if (this.kids(op.path).length > 0) return f('NotEmpty');
    this.removeNode(op.path, zxid, events);
    return { op: 'delete', path: op.path };
  }

  check(op: SubOp & { op: 'check' }): SubResult | MFailure {
    const f = (code: ZkCode): MFailure => ({ code, path: op.path });
    if (!versionOk(op.version) || !validPath(op.path)) return f('BadArguments');
    const n = this.nodes.get(op.path);
    if (n === undefined) return f('NoNode');
    if (!this.allowed(n.acl, Perms.READ, op.path)) return f('NoAuth');
    if (op.version !== -1 && op.version !== n.version) return f('BadVersion');
    return { op: 'check', path: op.path };
  }

  sub(op: SubOp, zxid: number, time: number, events: TreeEvent[]): SubResult | MFailure {
    switch (op.op) {
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
}

const isMFailure = (r: SubResult | MFailure): r is MFailure => 'code' in r;

/** Applies op to a copy of the model; returns the outcome and the model to continue with. */
function modelApply(m: Model, op: Op, zxid: number, time: number, access: Access | undefined): { outcome: MOutcome; model: Model } {
  const work = m.clone();
  work.access = access;
  const events: TreeEvent[] = [];
  const done = (result: unknown): { outcome: MOutcome; model: Model } => ({ outcome: { ok: true, result, events }, model: work });
  const failed = (failure: MFailure): { outcome: MOutcome; model: Model } => ({ outcome: { ok: false, failure }, model: m });
  switch (op.op) {
    case 'noop':
      return done({ op: 'noop' });
    case 'create':
    case 'set':
    case 'delete':
    case 'check': {
      const r = work.sub(op, zxid, time, events);
      return isMFailure(r) ? failed(r) : done(r);
    }
    case 'deleteTree': {
      const f = (code: ZkCode): { outcome: MOutcome; model: Model } => failed({ code, path: op.path });
      if (!Number.isInteger(op.maxNodes) || op.maxNodes < 1) return f('BadArguments');
      if (!versionOk(op.version) || !validPath(op.path) || op.path === '/' || reserved(op.path)) return f('BadArguments');
      const parent = work.nodes.get(parentOf(op.path));
      if (parent === undefined) return f('NoNode');
      if (!work.allowed(parent.acl, Perms.DELETE, op.path)) return f('NoAuth');
      const n = work.nodes.get(op.path);
      if (n === undefined) return f('NoNode');
      if (op.version !== -1 && op.version !== n.version) return f('BadVersion');
      const order: string[] = [];
      const visit = (p: string): void => {
        for (const k of work.kids(p)) visit(`${p}/${k}`);
        order.push(p);
      };
      visit(op.path);
      if (order.length > op.maxNodes) return f('BadArguments');
      // READ on every znode and DELETE under each parent, pre-order, children by name; else nothing goes.
      const denied = (p: string): string | null => {
        if (!work.allowed(work.nodes.get(p)!.acl, Perms.READ, p)) return p;
        const kids = work.kids(p).map((k) => `${p}/${k}`);
        for (const c of kids) if (!work.allowed(work.nodes.get(p)!.acl, Perms.DELETE, c)) return c;
        for (const c of kids) {
          const r = denied(c);
          if (r !== null) return r;
        }
        return null;
      };
      const refused = denied(op.path);
      if (refused !== null) return failed({ code: 'NoAuth', path: refused });
      for (const p of order) work.removeNode(p, zxid, events);
      return done({ op: 'deleteTree', path: op.path, deleted: order.length });
    }
    case 'multi': {
      let total = 0;
      for (const s of op.ops) if (s.op === 'create' || s.op === 'set') total += s.data.length;
      if (total > MAX_DATA) return failed({ code: 'PayloadTooLarge' });
      const results: SubResult[] = [];
      for (let i = 0; i < op.ops.length; i++) {
        const r = work.sub(op.ops[i]!, zxid, time, events);
        if (isMFailure(r)) {
          return failed({
            code: r.code,
            path: r.path,
            opIndex: i,
            results: op.ops.map((o, j) => ({ op: o.op, code: j < i ? 'Ok' : j === i ? r.code : 'RuntimeInconsistency' })),
          });
        }
        results.push(r);
      }
      return done({ op: 'multi', results });
    }
    case 'setAcl': {
      const f = (code: ZkCode): { outcome: MOutcome; model: Model } => failed({ code, path: op.path });
      if (!versionOk(op.version) || !validPath(op.path) || reserved(op.path)) return f('BadArguments');
      if (op.acl.length === 0) return f('InvalidACL');
      const n = work.nodes.get(op.path);
      if (n === undefined) return f('NoNode');
      if (!work.allowed(n.acl, Perms.ADMIN, op.path)) return f('NoAuth');
      // Against the ACL version, not the data version; nothing else changes and no watch fires.
      if (op.version !== -1 && op.version !== n.aversion) return f('BadVersion');
      n.acl = op.acl;
      n.aversion++;
      return done({ op: 'setAcl', path: op.path, stat: work.stat(op.path) });
    }
    default:
      // Sessions and the leader's reaping are not generated by this model (test/session covers them).
      throw new Error(`model: no ${op.op} op`);
  }
}

// ------------------------------------------------------------------ abstract ops, resolved against the model

/** A fixed path, an existing znode, or a new name under an existing znode (ephemerals included). */
type Target = { fixed: string } | { pick: number } | { under: number };
type Ver = -1 | -2 | 'right' | 'wrong';
/** An index into ACLS, or 'none' for a create without one (world:anyone:cdrwa). */
type AAcl = number | 'none';
type ACreate = { k: 'create'; path: Target; mode: CreateMode; ttl: 'auto' | number | 'none'; owner: 'auto' | 'none'; parents: boolean; data: Uint8Array; acl: AAcl };
type ASet = { k: 'set'; path: Target; data: Uint8Array; version: Ver };
type ADelete = { k: 'delete'; path: Target; version: Ver };
type ACheck = { k: 'check'; path: Target; version: Ver };
type ASub = ACreate | ASet | ADelete | ACheck;
type AOp =
  | ASub
  | { k: 'deleteTree'; path: Target; version: Ver; maxNodes: number }
  | { k: 'multi'; ops: ASub[] }
  | { k: 'setAcl'; path: Target; acl: number; version: AclVer }
  | { k: 'noop' }
  | { k: 'restore' };
/** setACL's version: the aversion, a wrong one, or the data version (which must not be what counts). */
type AclVer = -1 | -2 | 'right' | 'wrong' | 'data';

const { READ: R, WRITE: W, CREATE: C, DELETE: D, ADMIN: A, ALL } = Perms;
const digestOf = (user: string): string => `${user}:${user}-hash`;
/** Small ACLs, as fixed up by a proposer: the empty one is malformed (InvalidACL). */
const ACLS: Acl[][] = [
  [{ perms: ALL, scheme: 'world', id: 'anyone' }],
  [{ perms: R, scheme: 'world', id: 'anyone' }],
  [{ perms: R | C, scheme: 'world', id: 'anyone' }],
  [{ perms: W | C | D, scheme: 'world', id: 'anyone' }],
  [{ perms: R | C | D, scheme: 'world', id: 'anyone' }, { perms: ALL, scheme: 'digest', id: digestOf('alice') }],
  [{ perms: ALL, scheme: 'digest', id: digestOf('alice') }],
  [{ perms: R | W | A, scheme: 'digest', id: digestOf('bob') }, { perms: C | D, scheme: 'digest', id: digestOf('carol') }],
  [{ perms: ALL, scheme: 'digest', id: digestOf('alice') }, { perms: R | C, scheme: 'digest', id: digestOf('bob') }],
  [{ perms: ALL, scheme: 'ip', id: '127.0.0.1' }],
  [{ perms: R | C | D, scheme: 'ip', id: '10.0.0.0/8' }, { perms: A, scheme: 'x509', id: 'CN=alice' }],
  [{ perms: ALL, scheme: 'x509', id: 'CN=alice' }],
  [{ perms: 0, scheme: 'world', id: 'anyone' }],
  [],
];
const ip = (id: string): { scheme: string; id: string } => ({ scheme: 'ip', id });
const ALICE_IDS = [ip('10.1.2.3'), { scheme: 'digest', id: digestOf('alice') }, { scheme: 'x509', id: 'CN=alice' }];
const BOB_IDS = [ip('192.168.1.9'), { scheme: 'digest', id: digestOf('bob') }];
/** Who an op is applied as: undefined is an internal entry (no check at all). */
const ACCESSES: (Access | undefined)[] = [
  undefined,
  { ids: [ip('127.0.0.1')], super: false },
  { ids: [ip('10.9.8.7')], super: false },
  { ids: ALICE_IDS, super: false },
  { ids: BOB_IDS, super: false },
  { ids: [ip('127.0.0.1')], super: true },
  { ids: ALICE_IDS, super: false, readOnly: true },
  { ids: BOB_IDS, super: false, prefix: '/a' },
  { ids: [ip('127.0.0.1')], super: true, prefix: '/b' },
];

const UNIVERSE = ['/a', '/a/b', '/a/b/c', '/a/c', '/b', '/b/a', '/c'];
// Paths that are refused or special somewhere: the root, /zookeeper, malformed ones.
const ODD_PATHS = ['/', '/zookeeper', '/zookeeper/quota', '/a/', '/a//b'];
const SEQ_PATHS = ['/s-', '/a/s-', '/a/', '/a/b/x-', '/c/', '/q/r/'];

const target = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...UNIVERSE).map((fixed): Target => ({ fixed })) },
  { weight: 1, arbitrary: fc.constantFrom(...ODD_PATHS).map((fixed): Target => ({ fixed })) },
  { weight: 4, arbitrary: fc.nat().map((pick): Target => ({ pick })) },
);
const createTarget = fc.oneof(
  { weight: 3, arbitrary: target },
  { weight: 2, arbitrary: fc.nat().map((under): Target => ({ under })) },
  { weight: 2, arbitrary: fc.constantFrom(...SEQ_PATHS).map((fixed): Target => ({ fixed })) },
);
const version = fc.constantFrom<Ver>(-1, -1, -1, 'right', 'right', 'right', 'wrong', 'wrong', -2);
const data = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 6 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: MAX_DATA + 1, maxLength: MAX_DATA + 1 }) },
);
const aCreate: fc.Arbitrary<ACreate> = fc.record({
  k: fc.constant('create' as const),
  path: createTarget,
  mode: fc.constantFrom(...CREATE_MODES),
  ttl: fc.oneof({ weight: 8, arbitrary: fc.constant('auto' as const) }, { weight: 1, arbitrary: fc.constantFrom(0 as const, 2 ** 40, 'none' as const) }),
  owner: fc.oneof({ weight: 8, arbitrary: fc.constant('auto' as const) }, { weight: 1, arbitrary: fc.constant('none' as const) }),
  parents: fc.boolean(),
  data,
  acl: fc.oneof({ weight: 4, arbitrary: fc.constant('none' as const) }, { weight: 3, arbitrary: fc.nat(ACLS.length - 1) }),
});
const aSet: fc.Arbitrary<ASet> = fc.record({ k: fc.constant('set' as const), path: target, data, version });
const aDelete: fc.Arbitrary<ADelete> = fc.record({ k: fc.constant('delete' as const), path: target, version });
const aCheck: fc.Arbitrary<ACheck> = fc.record({ k: fc.constant('check' as const), path: target, version });
const aSub: fc.Arbitrary<ASub> = fc.oneof({ weight: 3, arbitrary: aCreate }, aSet, { weight: 2, arbitrary: aDelete }, aCheck);
const aOp: fc.Arbitrary<AOp> = fc.oneof(
  { weight: 6, arbitrary: aCreate },
  { weight: 2, arbitrary: aSet },
  { weight: 3, arbitrary: aDelete },
  { weight: 1, arbitrary: aCheck },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('deleteTree' as const), path: target, version, maxNodes: fc.constantFrom(1, 2, 3, 100) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('multi' as const), ops: fc.array(aSub, { maxLength: 5 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('setAcl' as const),
      path: target,
      acl: fc.nat(ACLS.length - 1),
      version: fc.constantFrom<AclVer>(-1, -1, 'right', 'right', 'wrong', 'wrong', 'data', -2),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ k: 'noop' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'restore' as const }) },
);

function resolvePath(m: Model, t: Target): string {
  if ('fixed' in t) return t.fixed;
  const all = [...m.nodes.keys()].sort();
  if ('pick' in t) return all[t.pick % all.length]!;
  const parent = all[t.under % all.length]!;
  return parent === '/' ? '/n' : `${parent}/n`;
}

function resolveVersion(m: Model, path: string, v: Ver): number {
  const current = m.nodes.get(path)?.version ?? 0;
  return v === 'right' ? current : v === 'wrong' ? current + 1 : v;
}

function resolveSub(m: Model, a: ASub): SubOp {
  const path = resolvePath(m, a.path);
  switch (a.k) {
    case 'create': {
      const op: SubOp = { op: 'create', path, data: a.data, mode: a.mode };
      const ttlMode = a.mode.endsWith('_with_ttl');
      if (a.ttl === 'auto') {
        if (ttlMode) op.ttl = 100;
      } else if (a.ttl !== 'none') op.ttl = a.ttl;
      if (a.owner === 'auto' && a.mode.startsWith('ephemeral')) op.owner = path.length % 2 === 0 ? 1n : 2n;
      if (a.parents) op.parents = true;
      if (a.acl !== 'none') op.acl = ACLS[a.acl]!.map((e) => ({ ...e }));
      return op;
    }
    case 'set':
      return { op: 'set', path, data: a.data, version: resolveVersion(m, path, a.version) };
    case 'delete':
      return { op: 'delete', path, version: resolveVersion(m, path, a.version) };
    case 'check':
      return { op: 'check', path, version: resolveVersion(m, path, a.version) };
  }
}

function resolve(m: Model, a: AOp): Op | 'restore' {
  switch (a.k) {
    case 'noop':
      return { op: 'noop' };
    case 'restore':
      return 'restore';
    case 'multi':
      return { op: 'multi', ops: a.ops.map((s) => resolveSub(m, s)) };
    case 'deleteTree': {
      const path = resolvePath(m, a.path);
      return { op: 'deleteTree', path, version: resolveVersion(m, path, a.version), maxNodes: a.maxNodes };
    }
    case 'setAcl': {
      const path = resolvePath(m, a.path);
      const n = m.nodes.get(path);
      const aversion = n?.aversion ?? 0;
      const version = a.version === 'right' ? aversion : a.version === 'wrong' ? aversion + 1 : a.version === 'data' ? (n?.version ?? 0) : a.version;
      return { op: 'setAcl', path, acl: ACLS[a.acl]!.map((e) => ({ ...e })), version };
    }
    default:
      return resolveSub(m, a);
  }
}

// ------------------------------------------------------------------ comparison

function comparable(o: ApplyOutcome): MOutcome {
  if (o.ok) return { ok: true, result: o.result, events: o.events.map(({ type, path, acl }) => ({ type, path, acl })) };
  const f: MFailure = { code: o.failure.code };
  if (o.failure.path !== undefined) f.path = o.failure.path;
  if (o.failure.opIndex !== undefined) f.opIndex = o.failure.opIndex;
  if (o.failure.results !== undefined) f.results = o.failure.results;
  return { ok: false, failure: f };
}

function normalise(o: MOutcome): MOutcome {
  if (o.ok) return o;
  const f: MFailure = { code: o.failure.code };
  if (o.failure.path !== undefined) f.path = o.failure.path;
  if (o.failure.opIndex !== undefined) f.opIndex = o.failure.opIndex;
  if (o.failure.results !== undefined) f.results = o.failure.results;
  return { ok: false, failure: f };
}

/** Everything observable, as one value per side, so that each step costs one deep comparison. */
function treeState(tree: DataTree, now: number): unknown {
  const nodes: Record<string, unknown> = {};
  const stack = ['/'];
  while (stack.length > 0) {
    const p = stack.pop()!;
    const got = tree.get(p)!;
    const children = tree.children(p)!;
    nodes[p] = { stat: got.stat, data: Array.from(got.data), children, acl: tree.aclOf(p)!.acl };
    for (const k of children) stack.push(p === '/' ? `/${k}` : `${p}/${k}`);
  }
  return {
    nodes,
    aclLists: tree.aclLists,
    nodeCount: tree.nodeCount,
    dataBytes: tree.dataBytes,
    ephemerals: [tree.ephemeralsOf(1n), tree.ephemeralsOf(2n)],
    containers: tree.containerCandidates(),
    ttls: [now, now + 60, now + 1000].map((t) => tree.ttlCandidates(t)),
  };
}

function modelState(m: Model, now: number): unknown {
  const nodes: Record<string, unknown> = {};
  let dataBytes = 0;
  for (const [p, n] of m.nodes) {
    nodes[p] = { stat: m.stat(p), data: Array.from(n.data), children: m.kids(p), acl: n.acl };
    dataBytes += n.data.length;
  }
  const select = (pred: (p: string, n: MNode) => boolean): string[] =>
    [...m.nodes].filter(([p, n]) => pred(p, n)).map(([p]) => p).sort();
  // The distinct lists some znode holds, and the open list, which the cache always keeps.
  const lists = new Set([JSON.stringify(OPEN_ACL_UNSAFE), ...[...m.nodes.values()].map((n) => JSON.stringify(n.acl))]);
  return {
    nodes,
    aclLists: lists.size,
    nodeCount: m.nodes.size,
    dataBytes,
    ephemerals: [1n, 2n].map((o) => select((_p, n) => n.kind === 'ephemeral' && n.owner === o)),
    containers: select((p, n) => n.kind === 'container' && n.creates > 0 && m.kids(p).length === 0),
    ttls: [now, now + 60, now + 1000].map((t) => select((p, n) => n.kind === 'ttl' && m.kids(p).length === 0 && t - n.mtime > n.ttl)),
  };
}

function compareState(tree: DataTree, m: Model, now: number): void {
  expect(treeState(tree, now)).toEqual(modelState(m, now));
}

describe('DataTree against a reference model', () => {
  it('agrees on every outcome, event and stat of random op sequences', () => {
    const seen = new Map<string, number>();
    const note = (o: ApplyOutcome, op: Op): void => {
      const key = o.ok
        ? `${op.op} ok${op.op === 'multi' && op.ops.length > 0 ? ' (non-empty)' : ''}${o.result.op === 'deleteTree' && o.result.deleted > 1 ? ' (subtree)' : ''}`
        : `${op.op} ${o.failure.code}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      if (op.op === 'create' && o.ok && o.result.op === 'create' && o.result.path !== op.path) seen.set('sequential ok', (seen.get('sequential ok') ?? 0) + 1);
      if (op.op === 'create' && o.ok && o.events.length > 2) seen.set('parents created', (seen.get('parents created') ?? 0) + 1);
    };
    fc.assert(
      fc.property(fc.array(fc.record({ a: aOp, who: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 5, arbitrary: fc.nat(ACCESSES.length - 1) }) }), { minLength: 1, maxLength: 30, size: 'max' }), (abstractOps) => {
        let tree = new DataTree({ maxDataBytes: MAX_DATA });
        let model = Model.fresh();
        let zxid = 0;
        for (const { a, who } of abstractOps) {
          const access = ACCESSES[who];
          const op = resolve(model, a);
          if (op === 'restore') {
            // Replace the tree by its own snapshot mid-run: the copy must carry on identically.
            const digest = tree.digest();
            tree = DataTree.restore(tree.snapshot(), { maxDataBytes: MAX_DATA });
            expect(tree.digest()).toBe(digest);
            expect(tree.lastZxid).toBe(zxid);
            continue;
          }
          zxid++;
          const time = 1000 + zxid * 10;
          const got = tree.apply(op, zxid, time, undefined, access);
          const want = modelApply(model, op, zxid, time, access);
          note(got, op);
          expect(comparable(got)).toEqual(normalise(want.outcome));
          model = want.model;
          expect(tree.lastZxid).toBe(zxid);
          compareState(tree, model, time);
        }
        const restored = DataTree.restore(tree.snapshot(), { maxDataBytes: MAX_DATA });
        expect(restored.digest()).toBe(tree.digest());
        compareState(restored, model, 1000 + zxid * 10);
      }),
      // Seeded, so that the guard below sees the same outcomes on every run (a random seed missed
      // a rare one now and then); ZGATE_MODEL_SEED explores others.
      { numRuns: 300, seed: Number(process.env.ZGATE_MODEL_SEED ?? 20261208) },
    );
    // Guard the generator: the interesting outcomes must all actually occur.
    const required = [
      'create ok',
      'sequential ok',
      'parents created',
      'create NodeExists',
      'create NoNode',
      'create NoChildrenForEphemerals',
      'create BadArguments',
      'create PayloadTooLarge',
      'set ok',
      'set BadVersion',
      'delete ok',
      'delete NotEmpty',
      'delete BadVersion',
      'check ok',
      'check BadVersion',
      'deleteTree ok (subtree)',
      'deleteTree BadArguments',
      'multi ok (non-empty)',
      'multi NodeExists',
      'multi BadVersion',
      'multi PayloadTooLarge',
      'create NoAuth',
      'create InvalidACL',
      'set NoAuth',
      'delete NoAuth',
      'check NoAuth',
      'deleteTree NoAuth',
      'multi NoAuth',
      'setAcl ok',
      'setAcl NoAuth',
      'setAcl BadVersion',
      'setAcl InvalidACL',
      'setAcl NoNode',
    ];
    if (process.env.SHOW_SEEN) console.log([...seen].sort().map(([k, n]) => `${k}: ${n}`).join('\n'));
    expect(required.filter((k) => !seen.has(k))).toEqual([]);
  });
});
