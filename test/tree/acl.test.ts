/**
 * ACLs on a real DataTree: every check ZooKeeper makes, in ZooKeeper's order of errors
 * (zookeeper-semantics.md "ACLs and authentication", api.md "Identity and ACLs"), the ACLs
 * events carry, the interned lists' reference counts, precheck, and snapshots (v2 round trip,
 * incremental cut, v1 restore, tampering, digest).
 */
import { ZgateError } from '../../src/core/errors.js';
import { OPEN_ACL_UNSAFE, Perms, READ_ACL_UNSAFE, type Access, type Acl } from '../../src/core/acl.js';
import type { ApplyOutcome, CreateOp, Op, OpFailure, OpResult, SubOp, TreeEvent } from '../../src/core/types.js';
import { decode, encode } from '../../src/util/codec.js';
import { DataTree } from '../../src/tree/datatree.js';

const T0 = 1_700_000_000_000;
const EMPTY = new Uint8Array(0);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

// ------------------------------------------------------------------ identities and lists

const IP = { scheme: 'ip', id: '10.1.2.3' };
const ALICE_ID = { scheme: 'digest', id: 'alice:hashA' };
const BOB_ID = { scheme: 'digest', id: 'bob:hashB' };
const ANON: Access = { ids: [IP], super: false };
const ALICE: Access = { ids: [IP, ALICE_ID], super: false };
const BOB: Access = { ids: [IP, BOB_ID], super: false };
const SUPER: Access = { ids: [IP], super: true };

const world = (perms: number): Acl => ({ perms, scheme: 'world', id: 'anyone' });
const alice = (perms: number): Acl => ({ perms, scheme: 'digest', id: 'alice:hashA' });
const bob = (perms: number): Acl => ({ perms, scheme: 'digest', id: 'bob:hashB' });
const { READ: R, WRITE: W, CREATE: C, DELETE: D, ADMIN: A, ALL } = Perms;

// ------------------------------------------------------------------ a driven tree

/** A tree applied at zxids 1, 2, 3..., each op with the access given (none: an internal entry). */
class Driver {
  zxid = 0;
  readonly log: [Op, Access | undefined][] = [];
  constructor(public tree = new DataTree()) {
    this.zxid = tree.lastZxid;
  }
  run(op: Op, access?: Access): ApplyOutcome {
    this.zxid++;
    this.log.push([op, access]);
    return this.tree.apply(op, this.zxid, T0 + this.zxid, undefined, access);
  }
  ok(op: Op, access?: Access): { result: OpResult; events: TreeEvent[] } {
    const r = this.run(op, access);
    if (!r.ok) throw new Error(`expected success, got ${JSON.stringify(r.failure)}`);
    return { result: r.result, events: r.events };
  }
  fail(op: Op, access?: Access): OpFailure {
    const before = this.tree.digest();
    const lists = this.tree.aclLists;
    const r = this.run(op, access);
    if (r.ok) throw new Error(`expected failure, got ${JSON.stringify(r.result, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
    expect(r.events).toEqual([]);
    // A failed op changes nothing, the interned lists included.
    expect(this.tree.digest()).toBe(before);
    expect(this.tree.aclLists).toBe(lists);
    return r.failure;
  }
  code(op: Op, access?: Access): string {
    return this.fail(op, access).code;
  }
  acl(path: string): readonly Acl[] {
    const a = this.tree.aclOf(path);
    if (a === undefined) throw new Error(`no ${path}`);
    return a.acl;
  }
}

function mk(path: string, acl?: Acl[], extra: Partial<CreateOp> = {}): CreateOp {
  const op: CreateOp = { op: 'create', path, data: EMPTY, mode: 'persistent', ...extra };
  if (acl !== undefined) op.acl = acl;
  return op;
}
const set = (path: string, version = -1, data = bytes('x')): SubOp => ({ op: 'set', path, data, version });
const del = (path: string, version = -1): SubOp => ({ op: 'delete', path, version });
const check = (path: string, version = -1): SubOp => ({ op: 'check', path, version });
const delTree = (path: string, version = -1, maxNodes = 1000): Op => ({ op: 'deleteTree', path, version, maxNodes });
const setAcl = (path: string, acl: Acl[], version = -1): Op => ({ op: 'setAcl', path, acl, version });
const multi = (...ops: SubOp[]): Op => ({ op: 'multi', ops });

/** Every node's path, pre-order. */
function allPaths(tree: DataTree): string[] {
  const out: string[] = [];
  const stack = ['/'];
  while (stack.length > 0) {
    const p = stack.pop()!;
    out.push(p);
    const kids = tree.children(p)!;
    for (let i = kids.length - 1; i >= 0; i--) stack.push(p === '/' ? `/${kids[i]}` : `${p}/${kids[i]}`);
  }
  return out;
}
const aclsOf = (tree: DataTree): unknown => allPaths(tree).map((p) => [p, tree.aclOf(p)]);

function expectSameBytes(got: Uint8Array, want: Uint8Array): void {
  expect(Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.byteLength), Buffer.from(want.buffer, want.byteOffset, want.byteLength))).toBe(0);
}

function expectInconsistent(b: Uint8Array): void {
  let thrown: unknown;
  try {
    DataTree.restore(b);
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(ZgateError);
  expect((thrown as ZgateError).code).toBe('DataInconsistency');
}

let d: Driver;
beforeEach(() => {
  d = new Driver();
});

// ------------------------------------------------------------------ defaults

describe('defaults', () => {
  it('/, /zookeeper and /zookeeper/quota are open, /zookeeper/config READ_ACL_UNSAFE at aversion -1', () => {
    for (const p of ['/', '/zookeeper', '/zookeeper/quota']) {
      expect(d.acl(p)).toEqual(OPEN_ACL_UNSAFE);
      expect(d.tree.stat(p)!.aversion).toBe(0);
    }
    expect(d.acl('/zookeeper/config')).toEqual(READ_ACL_UNSAFE);
    expect(d.tree.stat('/zookeeper/config')!.aversion).toBe(-1);
    expect(d.tree.aclLists).toBe(2);
  });

  it('a create without an acl is open', () => {
    d.ok(mk('/a'), ANON);
    expect(d.acl('/a')).toEqual(OPEN_ACL_UNSAFE);
    expect(d.tree.aclLists).toBe(2);
  });

  it('the interned lists cannot be changed through aclOf', () => {
    d.ok(mk('/a', [alice(ALL)]));
    const list = d.acl('/a') as Acl[];
    expect(() => {
      list[0]!.perms = 0;
    }).toThrow();
    expect(() => list.push(world(ALL))).toThrow();
    expect(d.acl('/a')).toEqual([alice(ALL)]);
  });

  it('/zookeeper stays read-only to everyone, super included', () => {
    for (const access of [undefined, ANON, SUPER]) {
      expect(d.code(mk('/zookeeper/x'), access)).toBe('BadArguments');
      expect(d.code(set('/zookeeper/config'), access)).toBe('BadArguments');
      expect(d.code(del('/zookeeper/quota'), access)).toBe('BadArguments');
      expect(d.code(setAcl('/zookeeper/config', [world(ALL)]), access)).toBe('BadArguments');
      expect(d.code(setAcl('/zookeeper', [world(ALL)]), access)).toBe('BadArguments');
      expect(d.code(delTree('/zookeeper'), access)).toBe('BadArguments');
    }
    expect(d.acl('/zookeeper/config')).toEqual(READ_ACL_UNSAFE);
  });
});

// ------------------------------------------------------------------ create

describe('create', () => {
  it('needs CREATE on the parent (any other bit does not do)', () => {
    d.ok(mk('/p', [alice(C), world(R | W | D | A)]));
    expect(d.code(mk('/p/x'), BOB)).toBe('NoAuth');
    expect(d.code(mk('/p/x'), ANON)).toBe('NoAuth');
    expect(d.ok(mk('/p/x'), ALICE).result).toMatchObject({ op: 'create', path: '/p/x' });
    // The node's own ACL does not matter to its creation, nor the grandparent's.
    d.ok(mk('/q', [world(C)]));
    d.ok(mk('/q/y', [world(0)]), ANON);
    expect(d.acl('/q/y')).toEqual([world(0)]);
  });

  it('the NoAuth names the path the op is about', () => {
    d.ok(mk('/p', [world(R)]));
    const f = d.fail(mk('/p/x'), ANON);
    expect(f).toMatchObject({ code: 'NoAuth', path: '/p/x' });
    expect(f.message).toMatch(/\/p/);
  });

  it('order: InvalidACL (malformed acl in the entry) before a missing parent', () => {
    for (const bad of [[], [{ perms: 31, scheme: 'auth', id: '' }], [{ perms: 1, scheme: 'ip', id: 'x' }], [{ perms: 'r', scheme: 'world', id: 'anyone' }], [{ perms: 2 ** 32 + 1, scheme: 'world', id: 'anyone' }], 'open'] as unknown[]) {
      expect(d.code({ ...mk('/missing/x'), acl: bad as Acl[] }, ANON)).toBe('InvalidACL');
      expect(d.code({ ...mk('/x'), acl: bad as Acl[] })).toBe('InvalidACL');
    }
  });

  it('order: parent NoNode before NoAuth', () => {
    d.ok(mk('/p', [world(R)]));
    expect(d.code(mk('/p/missing/x'), ANON)).toBe('NoNode');
    expect(d.code(mk('/missing/x'), ANON)).toBe('NoNode');
  });

  it('order: NoAuth before NodeExists (a denied create of an existing node answers NoAuth)', () => {
    d.ok(mk('/p', [alice(ALL), world(R)]));
    d.ok(mk('/p/x'), ALICE);
    expect(d.code(mk('/p/x'), BOB)).toBe('NoAuth');
    expect(d.code(mk('/p/x'), ALICE)).toBe('NodeExists');
    expect(d.code(mk('/p'), SUPER)).toBe('NodeExists');
  });

  it('order: NoAuth before NoChildrenForEphemerals', () => {
    d.ok(mk('/e', [alice(ALL)], { mode: 'ephemeral', owner: 5n }));
    expect(d.code(mk('/e/x'), BOB)).toBe('NoAuth');
    expect(d.code(mk('/e/x'), ALICE)).toBe('NoChildrenForEphemerals');
  });

  it('a sequential create is checked on the parent and numbered only when allowed', () => {
    d.ok(mk('/q', [alice(C | R)]));
    expect(d.code(mk('/q/n-', undefined, { mode: 'persistent_sequential' }), BOB)).toBe('NoAuth');
    expect(d.ok(mk('/q/n-', undefined, { mode: 'persistent_sequential' }), ALICE).result).toMatchObject({ path: '/q/n-0000000000' });
  });

  describe('parents: true', () => {
    it('each missing level needs CREATE on its own parent; created ancestors get the same ACL', () => {
      d.ok(mk('/p', [alice(C)]));
      const acl = [alice(ALL), world(R)];
      const { events } = d.ok(mk('/p/a/b/c', acl, { parents: true }), ALICE);
      for (const p of ['/p/a', '/p/a/b', '/p/a/b/c']) expect(d.acl(p)).toEqual(acl);
      expect(events.filter((e) => e.type === 'NodeCreated').map((e) => [e.path, e.acl])).toEqual([
        ['/p/a', acl],
        ['/p/a/b', acl],
        ['/p/a/b/c', acl],
      ]);
      expect(d.tree.aclLists).toBe(4);
    });

    it('a missing level its writer may not create is NoAuth, and nothing is created', () => {
      d.ok(mk('/p', [alice(C)]));
      expect(d.fail(mk('/p/a/b', [bob(ALL)], { parents: true }), BOB)).toMatchObject({ code: 'NoAuth', path: '/p/a' });
      // The first level is allowed, the second is checked against the ACL just given to the first.
      expect(d.fail(mk('/p/a/b/c', [alice(R)], { parents: true }), ALICE)).toMatchObject({ code: 'NoAuth', path: '/p/a/b' });
      expect(d.tree.has('/p/a')).toBe(false);
      // An existing level is not checked: only the levels to create are.
      d.ok(mk('/p/a', [world(C)]));
      d.ok(mk('/p/a/b/c', [bob(ALL)], { parents: true }), BOB);
      expect(d.acl('/p/a')).toEqual([world(C)]);
      expect(d.acl('/p/a/b')).toEqual([bob(ALL)]);
    });

    it('the final level is checked like a plain create', () => {
      d.ok(mk('/p', [alice(C)]));
      d.ok(mk('/p/a', [world(R)]));
      expect(d.code(mk('/p/a/b', undefined, { parents: true }), ALICE)).toBe('NoAuth');
    });
  });

  it('a token prefix is decided on the created path, the sequential suffix included', () => {
    const scoped: Access = { ids: [IP], super: false, prefix: '/app' };
    d.ok(mk('/app'));
    expect(d.ok(mk('/app/q-', undefined, { mode: 'persistent_sequential' }), scoped).result).toMatchObject({ path: '/app/q-0000000000' });
    // '/app' + suffix is a sibling of /app, outside the scope as '/apple' is.
    expect(d.code(mk('/app', undefined, { mode: 'persistent_sequential' }), scoped)).toBe('NoAuth');
    expect(d.code(mk('/apple'), scoped)).toBe('NoAuth');
    expect(d.tree.children('/')).toEqual(['app', 'zookeeper']);
  });
});

// ------------------------------------------------------------------ delete, set, check, setAcl

describe('delete', () => {
  beforeEach(() => {
    d.ok(mk('/p', [alice(D | C), world(R)]));
    d.ok(mk('/p/x', [world(0)]));
    d.ok(mk('/p/x/c'));
    d.ok(mk('/p/leaf', [world(0)]));
  });

  it('needs DELETE on the parent, not on the node', () => {
    expect(d.code(del('/p/leaf'), BOB)).toBe('NoAuth');
    expect(d.ok(del('/p/leaf'), ALICE).result).toEqual({ op: 'delete', path: '/p/leaf' });
  });

  it('is NoAuth even when the node is missing (no existence leak), then NoNode', () => {
    expect(d.fail(del('/p/missing'), BOB)).toMatchObject({ code: 'NoAuth', path: '/p/missing' });
    expect(d.code(del('/p/missing'), ALICE)).toBe('NoNode');
  });

  it('a missing parent is NoNode first', () => {
    expect(d.code(del('/nope/x'), BOB)).toBe('NoNode');
  });

  it('order after NoAuth: NoNode, BadVersion, NotEmpty', () => {
    expect(d.code(del('/p/x', 7), BOB)).toBe('NoAuth');
    expect(d.code(del('/p/x', 7), ALICE)).toBe('BadVersion');
    expect(d.code(del('/p/x', 0), ALICE)).toBe('NotEmpty');
  });
});

describe('set', () => {
  beforeEach(() => {
    d.ok(mk('/n', [alice(W), world(R | C | D | A)]));
  });

  it('needs WRITE on the node', () => {
    expect(d.code(set('/n'), BOB)).toBe('NoAuth');
    expect(d.ok(set('/n'), ALICE).result).toMatchObject({ op: 'set', path: '/n' });
  });

  it('order: NoNode, NoAuth, BadVersion', () => {
    expect(d.code(set('/missing'), BOB)).toBe('NoNode');
    expect(d.code(set('/n', 9), BOB)).toBe('NoAuth');
    expect(d.code(set('/n', 9), ALICE)).toBe('BadVersion');
  });

  it('size and path rules come first, even for super', () => {
    const big = new DataTree({ maxDataBytes: 4 });
    const b = new Driver(big);
    b.ok(mk('/n', [world(0)]));
    expect(b.code(set('/n', -1, bytes('toolong')), SUPER)).toBe('PayloadTooLarge');
    expect(b.code(set('/n//x'), SUPER)).toBe('BadArguments');
    expect(b.code(set('/n', 3), SUPER)).toBe('BadVersion');
  });
});

describe('check (in a multi)', () => {
  beforeEach(() => {
    d.ok(mk('/n', [alice(R), world(W | C | D | A)]));
  });

  it('needs READ on the node', () => {
    expect(d.fail(multi(check('/n')), BOB)).toMatchObject({ code: 'NoAuth', opIndex: 0 });
    expect(d.ok(multi(check('/n')), ALICE).result).toEqual({ op: 'multi', results: [{ op: 'check', path: '/n' }] });
    expect(d.code(check('/n'), BOB)).toBe('NoAuth');
  });

  it('order: NoNode, NoAuth, BadVersion', () => {
    expect(d.code(multi(check('/missing')), BOB)).toBe('NoNode');
    expect(d.code(multi(check('/n', 4)), BOB)).toBe('NoAuth');
    expect(d.code(multi(check('/n', 4)), ALICE)).toBe('BadVersion');
  });
});

describe('setAcl', () => {
  beforeEach(() => {
    d.ok(mk('/n', [alice(A), world(R | W | C | D)]));
  });

  it('needs ADMIN on the node', () => {
    expect(d.code(setAcl('/n', [world(ALL)]), BOB)).toBe('NoAuth');
    d.ok(setAcl('/n', [bob(ALL)]), ALICE);
    expect(d.acl('/n')).toEqual([bob(ALL)]);
    expect(d.code(setAcl('/n', [world(ALL)]), ALICE)).toBe('NoAuth');
  });

  it('order: InvalidACL, NoNode, NoAuth, BadVersion', () => {
    expect(d.code(setAcl('/missing', []), ALICE)).toBe('InvalidACL');
    expect(d.code(setAcl('/missing', [{ perms: 1, scheme: 'auth', id: '' }]), ALICE)).toBe('InvalidACL');
    expect(d.code(setAcl('/missing', [world(ALL)]), BOB)).toBe('NoNode');
    expect(d.code(setAcl('/n', [world(ALL)], 5), BOB)).toBe('NoAuth');
    expect(d.code(setAcl('/n', [world(ALL)], 5), ALICE)).toBe('BadVersion');
    expect(d.code(setAcl('/n', [world(ALL)], -2), ALICE)).toBe('BadArguments');
  });

  it('compares the version with aversion, not version, and increments aversion only', () => {
    d.ok(set('/n'));
    d.ok(set('/n'));
    d.ok(mk('/n/c'));
    const before = d.tree.stat('/n')!;
    expect(before.version).toBe(2);
    expect(d.code(setAcl('/n', [world(ALL)], 2), ALICE)).toBe('BadVersion');
    const r = d.ok(setAcl('/n', [alice(A), world(ALL)], 0), ALICE);
    expect(r.events).toEqual([]);
    const after = d.tree.stat('/n')!;
    expect(r.result).toEqual({ op: 'setAcl', path: '/n', stat: after });
    expect(after).toEqual({ ...before, aversion: 1 });
    expect(d.code(setAcl('/n', [world(ALL)], 0), ALICE)).toBe('BadVersion');
    d.ok(setAcl('/n', [world(ALL)], 1), ALICE);
    d.ok(setAcl('/n', [world(ALL)], -1), ALICE);
    expect(d.tree.stat('/n')!.aversion).toBe(3);
    // The parent is untouched too.
    expect(d.tree.stat('/')!.pzxid).toBe(before.czxid);
  });

  it('works on /', () => {
    d.ok(setAcl('/', [world(R | C)]), ANON);
    expect(d.acl('/')).toEqual([world(R | C)]);
    expect(d.code(setAcl('/', [world(ALL)]), ANON)).toBe('NoAuth');
  });

  it('is not a multi op', () => {
    expect(d.code({ op: 'multi', ops: [setAcl('/n', [world(ALL)]) as unknown as SubOp] })).toBe('BadArguments');
  });
});

// ------------------------------------------------------------------ deleteTree

describe('deleteTree', () => {
  const build = (tweak: Record<string, Acl[]> = {}): void => {
    const paths = ['/t', '/t/a', '/t/a/x', '/t/a/y', '/t/b'];
    for (const p of paths) d.ok(mk(p, tweak[p] ?? [alice(R | D), world(C)]));
  };
  const untouched = (): void => expect(['/t', '/t/a', '/t/a/x', '/t/a/y', '/t/b'].every((p) => d.tree.has(p))).toBe(true);

  it('deletes when its writer may READ every znode and DELETE under each parent', () => {
    build();
    expect(d.ok(delTree('/t'), ALICE).result).toEqual({ op: 'deleteTree', path: '/t', deleted: 5 });
  });

  it('needs DELETE on the top znode parent', () => {
    d.ok(setAcl('/', [world(R | C)]));
    build();
    expect(d.code(delTree('/t'), ALICE)).toBe('NoAuth');
    untouched();
  });

  it('needs READ on every znode of the subtree, else nothing is deleted', () => {
    build({ '/t/a/y': [alice(D)] });
    expect(d.fail(delTree('/t'), ALICE)).toMatchObject({ code: 'NoAuth', path: '/t/a/y' });
    untouched();
    expect(d.code(delTree('/t/a/y'), ALICE)).toBe('NoAuth');
    // The top's own READ too.
    d.ok(mk('/u', [alice(D)]));
    expect(d.code(delTree('/u'), ALICE)).toBe('NoAuth');
  });

  it('needs DELETE on every parent inside the subtree', () => {
    build({ '/t/a': [alice(R)] });
    expect(d.fail(delTree('/t'), ALICE)).toMatchObject({ code: 'NoAuth', path: '/t/a/x' });
    untouched();
    // A leaf's own DELETE does not matter.
    d.ok(setAcl('/t/a', [alice(R | D)]));
    d.ok(setAcl('/t/a/x', [alice(R)]));
    d.ok(delTree('/t'), ALICE);
  });

  it('order: NoNode before NoAuth only for the parent; then BadVersion, the bound, the subtree', () => {
    build({ '/t/b': [world(0)] });
    expect(d.code(delTree('/nope/x'), BOB)).toBe('NoNode');
    expect(d.code(delTree('/t/missing'), BOB)).toBe('NoAuth');
    expect(d.code(delTree('/t/missing'), ALICE)).toBe('NoNode');
    expect(d.code(delTree('/t', 5), ALICE)).toBe('BadVersion');
    expect(d.code(delTree('/t', -1, 2), ALICE)).toBe('BadArguments');
    expect(d.code(delTree('/t'), ALICE)).toBe('NoAuth');
    untouched();
  });

  it('super deletes any subtree; without access nothing is checked', () => {
    build({ '/t/a': [world(0)], '/t/b': [world(0)] });
    d.ok(delTree('/t/a'), SUPER);
    d.ok(delTree('/t'));
    expect(d.tree.has('/t')).toBe(false);
  });

  it('a token scope restricts even super, inside the subtree too', () => {
    build();
    expect(d.code(delTree('/t'), { ...SUPER, readOnly: true })).toBe('NoAuth');
    expect(d.code(delTree('/t'), { ...SUPER, prefix: '/t/a' })).toBe('NoAuth');
    d.ok(delTree('/t/a'), { ...SUPER, prefix: '/t/a' });
    d.ok(delTree('/t'), { ...SUPER, prefix: '/t' });
  });
});

// ------------------------------------------------------------------ multi

describe('multi', () => {
  it('a denied op: its index and NoAuth, earlier ops Ok, later RuntimeInconsistency, nothing applied', () => {
    d.ok(mk('/locked', [world(R)]));
    const lists = d.tree.aclLists;
    const f = d.fail(multi(mk('/a', [bob(ALL)]), check('/a'), set('/locked'), mk('/b'), del('/a')), BOB);
    expect(f).toMatchObject({
      code: 'NoAuth',
      opIndex: 2,
      path: '/locked',
      results: [
        { op: 'create', code: 'Ok' },
        { op: 'check', code: 'Ok' },
        { op: 'set', code: 'NoAuth' },
        { op: 'create', code: 'RuntimeInconsistency' },
        { op: 'delete', code: 'RuntimeInconsistency' },
      ],
    });
    expect(d.tree.has('/a')).toBe(false);
    expect(d.tree.aclLists).toBe(lists);
    expect(d.tree.lastZxid).toBe(d.zxid);
  });

  it('ops see the ACLs earlier ops of the same multi gave', () => {
    // /a created readable by alice only: bob's check of it fails inside the same multi.
    expect(d.fail(multi(mk('/a', [alice(ALL)]), check('/a')), BOB)).toMatchObject({ code: 'NoAuth', opIndex: 1 });
    d.ok(multi(mk('/a', [alice(ALL)]), check('/a'), mk('/a/b', [alice(R)]), set('/a')), ALICE);
  });
});

// ------------------------------------------------------------------ super, scopes, internal entries

describe('super, token scopes and internal entries', () => {
  beforeEach(() => {
    d.ok(mk('/z', [world(0)]));
    d.ok(mk('/z/c', [world(0)]));
  });

  it('super skips every ACL check', () => {
    d.ok(set('/z/c'), SUPER);
    d.ok(multi(check('/z/c')), SUPER);
    d.ok(mk('/z/d'), SUPER);
    d.ok(setAcl('/z/c', [world(0)]), SUPER);
    d.ok(del('/z/c'), SUPER);
    d.ok(del('/z/d'), SUPER);
    d.ok(del('/z'), SUPER);
  });

  it('super never skips path, version or size rules', () => {
    expect(d.code(set('/z/c', 5), SUPER)).toBe('BadVersion');
    expect(d.code(del('/z/c', 5), SUPER)).toBe('BadVersion');
    expect(d.code(setAcl('/z/c', [world(0)], 5), SUPER)).toBe('BadVersion');
    expect(d.code(multi(check('/z/c', 5)), SUPER)).toBe('BadVersion');
    expect(d.code(del('/z'), SUPER)).toBe('NotEmpty');
    expect(d.code(mk('/z/..'), SUPER)).toBe('BadArguments');
    // As ZooKeeper: a create's full path is validated after its parent is found (and checked).
    expect(d.code(mk('/z//x'), SUPER)).toBe('NoNode');
    expect(d.code(mk('/z/..'), ANON)).toBe('NoAuth');
    expect(d.code(del('/'), SUPER)).toBe('BadArguments');
    expect(d.code(mk('/zz/x'), SUPER)).toBe('NoNode');
    expect(d.code(setAcl('/zz', [world(0)]), SUPER)).toBe('NoNode');
    expect(d.code(mk('/z'), SUPER)).toBe('NodeExists');
  });

  it('a readOnly scope admits only READ checks, even for super', () => {
    const ro: Access = { ...SUPER, readOnly: true };
    d.ok(mk('/open'));
    d.ok(multi(check('/z/c'), check('/open')), ro);
    expect(d.code(set('/open'), ro)).toBe('NoAuth');
    expect(d.code(mk('/open/x'), ro)).toBe('NoAuth');
    expect(d.code(del('/open'), ro)).toBe('NoAuth');
    expect(d.code(setAcl('/open', [world(ALL)]), ro)).toBe('NoAuth');
    expect(d.code(multi(check('/open'), set('/open')), ro)).toBe('NoAuth');
    const anonRo: Access = { ...ANON, readOnly: true };
    expect(d.code(set('/open'), anonRo)).toBe('NoAuth');
    d.ok(multi(check('/open')), anonRo);
  });

  it('a prefix scope admits only its path and paths under it, even for super', () => {
    d.ok(mk('/app'));
    d.ok(mk('/apple'));
    const scoped: Access = { ...SUPER, prefix: '/app' };
    d.ok(mk('/app/x'), scoped);
    d.ok(set('/app'), scoped);
    d.ok(set('/app/x'), scoped);
    expect(d.code(set('/apple'), scoped)).toBe('NoAuth');
    expect(d.code(mk('/apple/x'), scoped)).toBe('NoAuth');
    expect(d.code(setAcl('/apple', [world(0)]), scoped)).toBe('NoAuth');
    expect(d.code(multi(check('/z/c')), scoped)).toBe('NoAuth');
    // Deleting /app itself needs DELETE on /, checked with /app's path.
    d.ok(del('/app/x'), scoped);
    d.ok(del('/app'), scoped);
    // The scope is on top of the ACL for everyone else.
    d.ok(mk('/app', [world(R)]));
    expect(d.code(set('/app'), { ...ANON, prefix: '/app' })).toBe('NoAuth');
  });

  it('without access (internal entries) nothing is checked', () => {
    d.ok(set('/z/c'));
    d.ok(multi(check('/z/c')));
    d.ok(mk('/z/d'));
    d.ok(setAcl('/z/c', [world(0)]));
    d.ok(del('/z/c'));
    d.ok(delTree('/z'));
  });

  it('an Access with no ids and not super is the anonymous caller', () => {
    expect(d.code(set('/z/c'), { ids: [], super: false })).toBe('NoAuth');
    d.ok(mk('/w', [world(W)]));
    d.ok(set('/w'), { ids: [], super: false });
  });

  it('ip and x509 ids are matched as their schemes say', () => {
    d.ok(mk('/net', [{ perms: ALL, scheme: 'ip', id: '10.0.0.0/8' }, { perms: W, scheme: 'x509', id: 'CN=alice' }]));
    d.ok(set('/net'), ANON);
    expect(d.code(set('/net'), { ids: [{ scheme: 'ip', id: '192.168.0.1' }], super: false })).toBe('NoAuth');
    d.ok(set('/net'), { ids: [{ scheme: 'ip', id: '192.168.0.1' }, { scheme: 'x509', id: 'CN=alice' }], super: false });
  });
});

// ------------------------------------------------------------------ events

describe('events carry the ACL that decides who sees them', () => {
  const pAcl = [world(ALL), alice(R)];
  const xAcl = [alice(ALL)];

  it('NodeCreated/NodeDataChanged/NodeDeleted the node, NodeChildrenChanged the parent', () => {
    d.ok(mk('/p', pAcl));
    expect(d.ok(mk('/p/x', xAcl)).events).toEqual([
      { type: 'NodeCreated', path: '/p/x', acl: xAcl },
      { type: 'NodeChildrenChanged', path: '/p', acl: pAcl },
    ]);
    expect(d.ok(set('/p/x')).events).toEqual([{ type: 'NodeDataChanged', path: '/p/x', acl: xAcl }]);
    expect(d.ok(del('/p/x')).events).toEqual([
      { type: 'NodeDeleted', path: '/p/x', acl: xAcl },
      { type: 'NodeChildrenChanged', path: '/p', acl: pAcl },
    ]);
    expect(d.ok(mk('/top', xAcl)).events).toEqual([
      { type: 'NodeCreated', path: '/top', acl: xAcl },
      { type: 'NodeChildrenChanged', path: '/', acl: OPEN_ACL_UNSAFE },
    ]);
  });

  it('as of their zxid: after a setAcl the next events carry the new list, earlier ones keep the old', () => {
    d.ok(mk('/p', pAcl));
    const first = d.ok(mk('/p/x', xAcl)).events;
    const newX = [bob(ALL)];
    const newP = [world(R | C)];
    d.ok(setAcl('/p/x', newX));
    expect(d.ok(set('/p/x')).events).toEqual([{ type: 'NodeDataChanged', path: '/p/x', acl: newX }]);
    d.ok(setAcl('/p', newP));
    expect(d.ok(mk('/p/y')).events[1]).toEqual({ type: 'NodeChildrenChanged', path: '/p', acl: newP });
    expect(d.ok(del('/p/x')).events).toEqual([
      { type: 'NodeDeleted', path: '/p/x', acl: newX },
      { type: 'NodeChildrenChanged', path: '/p', acl: newP },
    ]);
    expect(first).toEqual([
      { type: 'NodeCreated', path: '/p/x', acl: xAcl },
      { type: 'NodeChildrenChanged', path: '/p', acl: pAcl },
    ]);
  });

  it('a multi and a deleteTree: each event with its own node or parent', () => {
    d.ok(mk('/p', pAcl));
    const { events } = d.ok(multi(mk('/p/x', xAcl), mk('/p/x/y', [bob(R)]), set('/p/x/y')));
    expect(events).toEqual([
      { type: 'NodeCreated', path: '/p/x', acl: xAcl },
      { type: 'NodeChildrenChanged', path: '/p', acl: pAcl },
      { type: 'NodeCreated', path: '/p/x/y', acl: [bob(R)] },
      { type: 'NodeChildrenChanged', path: '/p/x', acl: xAcl },
      { type: 'NodeDataChanged', path: '/p/x/y', acl: [bob(R)] },
    ]);
    expect(d.ok(delTree('/p')).events).toEqual([
      { type: 'NodeDeleted', path: '/p/x/y', acl: [bob(R)] },
      { type: 'NodeChildrenChanged', path: '/p/x', acl: xAcl },
      { type: 'NodeDeleted', path: '/p/x', acl: xAcl },
      { type: 'NodeChildrenChanged', path: '/p', acl: pAcl },
      { type: 'NodeDeleted', path: '/p', acl: pAcl },
      { type: 'NodeChildrenChanged', path: '/', acl: OPEN_ACL_UNSAFE },
    ]);
  });
});

// ------------------------------------------------------------------ the ACL cache

describe('interned lists and their reference counts', () => {
  const L = [alice(ALL)];
  const M = [bob(ALL)];

  it('one list per distinct ACL, dropped when its last holder goes', () => {
    expect(d.tree.aclLists).toBe(2);
    d.ok(mk('/a', L));
    d.ok(mk('/b', [alice(ALL)]));
    expect(d.tree.aclLists).toBe(3);
    expect(d.acl('/a')).toBe(d.acl('/b'));
    d.ok(del('/a'));
    expect(d.tree.aclLists).toBe(3);
    d.ok(del('/b'));
    expect(d.tree.aclLists).toBe(2);
    // The read-only list of /zookeeper/config is held by it: reusing it is no new list.
    d.ok(mk('/r', [...READ_ACL_UNSAFE]));
    expect(d.tree.aclLists).toBe(2);
    d.ok(del('/r'));
    expect(d.tree.aclLists).toBe(2);
    expect(d.acl('/zookeeper/config')).toEqual(READ_ACL_UNSAFE);
  });

  it('order matters: the same entries in another order are another list', () => {
    d.ok(mk('/a', [alice(R), bob(R)]));
    d.ok(mk('/b', [bob(R), alice(R)]));
    expect(d.tree.aclLists).toBe(4);
    expect(d.acl('/b')).toEqual([bob(R), alice(R)]);
  });

  it('setAcl moves the count: the old list goes when unheld, the same list stays', () => {
    d.ok(mk('/a', L));
    d.ok(setAcl('/a', M));
    expect(d.tree.aclLists).toBe(3);
    d.ok(setAcl('/a', M));
    expect(d.tree.aclLists).toBe(3);
    expect(d.tree.stat('/a')!.aversion).toBe(2);
    d.ok(setAcl('/a', [...OPEN_ACL_UNSAFE]));
    expect(d.tree.aclLists).toBe(2);
    d.ok(setAcl('/a', L));
    d.ok(del('/a'));
    expect(d.tree.aclLists).toBe(2);
  });

  it('deleteTree releases every list of its subtree', () => {
    d.ok(mk('/t', L));
    d.ok(mk('/t/a', M));
    d.ok(mk('/t/a/b', [world(R | W)]));
    expect(d.tree.aclLists).toBe(5);
    d.ok(delTree('/t'));
    expect(d.tree.aclLists).toBe(2);
  });

  it('rollbacks: a failed multi that interned a new list leaves nothing behind', () => {
    d.ok(mk('/x'));
    d.fail(multi(mk('/a', L), mk('/a/b', M), mk('/x')));
    expect(d.tree.aclLists).toBe(2);
    // A failed parents: true create that made ancestors with a new list.
    d.fail(mk('/q/r/s', [alice(R)], { parents: true }), ALICE);
    d.fail(multi(mk('/q/r/s', L, { parents: true }), mk('/x')));
    expect(d.tree.aclLists).toBe(2);
    // A multi that deletes the last holder of a list and then fails holds it again.
    d.ok(mk('/h', L));
    d.fail(multi(del('/h'), mk('/h2', L), mk('/x')));
    expect(d.acl('/h')).toEqual(L);
    expect(d.tree.aclLists).toBe(3);
    // And one that deletes the last holder and creates the same list afresh keeps one list.
    d.ok(multi(del('/h'), mk('/h2', L), mk('/h3', M)));
    expect(d.tree.aclLists).toBe(4);
    d.ok(multi(del('/h2'), del('/h3')));
    expect(d.tree.aclLists).toBe(2);
  });

  it('a failed op of every kind leaves the count alone', () => {
    d.ok(mk('/locked', [world(R)]));
    const n = d.tree.aclLists;
    d.fail(mk('/locked/x', L), ANON);
    d.fail(mk('/locked', L));
    d.fail(setAcl('/locked', L), ANON);
    d.fail(setAcl('/locked', L, 3));
    d.fail(setAcl('/missing', L));
    expect(d.tree.aclLists).toBe(n);
  });

  it('two lists whose ids a naive key would join stay two lists', () => {
    const crafted: Acl[] = [{ perms: 1, scheme: 'x509', id: 'a\u00011\u0000x509\u0000b' }];
    const honest: Acl[] = [
      { perms: 1, scheme: 'x509', id: 'a' },
      { perms: 1, scheme: 'x509', id: 'b' },
    ];
    d.ok(mk('/m', crafted));
    d.ok(mk('/v', honest));
    expect(d.acl('/v')).toEqual(honest);
    expect(d.acl('/m')).toEqual(crafted);
    const restored = DataTree.restore(d.tree.snapshot());
    expect(restored.aclOf('/v')!.acl).toEqual(honest);
  });
});

// ------------------------------------------------------------------ precheck

describe('precheck with access', () => {
  beforeEach(() => {
    d.ok(mk('/locked', [world(R)]));
  });
  const badLater = (first: SubOp): Op => multi(first, { op: 'set', path: '/a//b', data: EMPTY, version: -1 });

  it("reports an earlier op's NoAuth before a later op's bad argument", () => {
    expect(d.tree.precheck(badLater(set('/locked')), ANON)).toMatchObject({ code: 'NoAuth', opIndex: 0 });
    expect(d.tree.precheck(badLater(set('/locked')), SUPER)).toMatchObject({ code: 'BadArguments', opIndex: 1 });
    expect(d.tree.precheck(badLater(set('/locked')))).toMatchObject({ code: 'BadArguments', opIndex: 1 });
    expect(d.tree.precheck(badLater(set('/locked')), { ...SUPER, readOnly: true })).toMatchObject({ code: 'NoAuth', opIndex: 0 });
    // And what apply() then answers is the same.
    expect(d.fail(badLater(set('/locked')), ANON)).toMatchObject({ code: 'NoAuth', opIndex: 0 });
  });

  it('sees ACLs given by earlier ops of the multi, and changes nothing', () => {
    const before = d.tree.snapshot();
    const op = multi(mk('/a', [alice(ALL)]), set('/a'), { op: 'set', path: '/a//b', data: EMPTY, version: -1 });
    expect(d.tree.precheck(op, BOB)).toMatchObject({ code: 'NoAuth', opIndex: 1 });
    expect(d.tree.precheck(op, ALICE)).toMatchObject({ code: 'BadArguments', opIndex: 2 });
    expectSameBytes(d.tree.snapshot(), before);
  });

  it('leaves the ACL id counter unchanged: a tree that also ran prechecks snapshots byte for byte alike', () => {
    const a = new Driver();
    const b = new Driver();
    const entries: [Op, Access | undefined][] = [
      [mk('/p', [alice(ALL), world(R)]), undefined],
      [mk('/p/q', [bob(ALL)]), ALICE],
      [setAcl('/p/q', [bob(R)]), BOB],
      [mk('/p/r', [world(R | A)]), BOB],
      [mk('/s', [alice(C)]), ANON],
    ];
    const prechecks: [Op, Access | undefined][] = [
      [multi(mk('/new', [{ perms: 3, scheme: 'x509', id: 'CN=pre' }]), mk('/new/2', [bob(W)]), { op: 'check', path: 'bad', version: -1 }), ALICE],
      [multi(mk('/p/z', [bob(1)]), { op: 'check', path: 'bad', version: -1 }), BOB],
      [multi(mk('/new2', [bob(2)]), set('/new2'), del('/new2'), { op: 'delete', path: '/', version: -1 }), undefined],
    ];
    for (const [op, access] of entries) {
      for (const [pre, pa] of prechecks) b.tree.precheck(pre, pa);
      a.run(op, access);
      b.run(op, access);
      for (const [pre, pa] of prechecks) b.tree.precheck(pre, pa);
    }
    // The next new list gets the same id in both.
    a.run(mk('/last', [alice(3)]), undefined);
    b.run(mk('/last', [alice(3)]), undefined);
    expectSameBytes(b.tree.snapshot(), a.tree.snapshot());
    expect(b.tree.aclLists).toBe(a.tree.aclLists);
  });
});

// ------------------------------------------------------------------ snapshots

/** A tree with varied ACLs and aversions, via every op that changes them. */
function aclTree(): Driver {
  const t = new Driver();
  t.ok(mk('/a', [alice(ALL), world(R)]));
  t.ok(mk('/a/b', [bob(R | W), { perms: C, scheme: 'ip', id: '10.0.0.0/8' }]), ALICE);
  t.ok(mk('/a/c', [alice(ALL), world(R)]));
  t.ok(mk('/x', [{ perms: ALL, scheme: 'x509', id: 'CN=alice,O=acme' }], { mode: 'ephemeral', owner: 3n }));
  t.ok(mk('/open'));
  t.ok(mk('/t', [world(ALL)], { mode: 'persistent_with_ttl', ttl: 5000, data: bytes('ttl') }));
  t.ok(setAcl('/open', [world(R | W)]));
  t.ok(setAcl('/open', [world(R | W | A)]));
  t.ok(setAcl('/a/c', [bob(ALL)], 0), SUPER);
  t.ok(mk('/gone', [{ perms: 9, scheme: 'sasl', id: 'gone@R' }]));
  t.ok(del('/gone'));
  t.ok(setAcl('/', [world(ALL), alice(A)]));
  return t;
}

describe('snapshots', () => {
  it('a round trip keeps every ACL, aversion and the lists, and the same bytes', () => {
    const t = aclTree();
    const snap = t.tree.snapshot();
    const r = DataTree.restore(snap);
    expect(aclsOf(r)).toEqual(aclsOf(t.tree));
    expect(r.digest()).toBe(t.tree.digest());
    expect(r.aclLists).toBe(t.tree.aclLists);
    expectSameBytes(r.snapshot(), snap);
    expect(r.stat('/open')!.aversion).toBe(2);
    expect(r.stat('/zookeeper/config')!.aversion).toBe(-1);
    // The restored tree goes on numbering lists as the original does.
    const t2 = new Driver(r);
    t.ok(mk('/after', [bob(W)]));
    t2.ok(mk('/after', [bob(W)]));
    expectSameBytes(t2.tree.snapshot(), t.tree.snapshot());
    // And checks as before.
    expect(t2.code(set('/a/c'), ALICE)).toBe('NoAuth');
    t2.ok(set('/a/c'), BOB);
  });

  it('the snapshot carries only the lists some znode holds', () => {
    const t = aclTree();
    const s = decode(t.tree.snapshot()) as { acls: { next: number; lists: [number, Acl[]][] } };
    const held = new Set(allPaths(t.tree).map((p) => JSON.stringify(t.tree.aclOf(p)!.acl)));
    expect(s.acls.lists.map(([, l]) => JSON.stringify(l)).sort()).toEqual([...held].sort());
    expect(s.acls.lists[0]).toEqual([0, [...OPEN_ACL_UNSAFE]]);
    expect(s.acls.lists.every(([id]) => id < s.acls.next)).toBe(true);
  });

  describe('an incremental snapshot gives the ACLs as of its zxid', () => {
    /** Ops after beginSnapshot, one kind each. */
    const after: [string, (t: Driver) => void][] = [
      ['setAcl', (t) => t.ok(setAcl('/a', [bob(R)]))],
      ['setAcl of the only holder of a list, then reusing it', (t) => {
        t.ok(setAcl('/a/b', [world(ALL)]));
        t.ok(mk('/n1', [bob(R | W), { perms: C, scheme: 'ip', id: '10.0.0.0/8' }]));
      }],
      ['create with a new ACL', (t) => t.ok(mk('/a/new', [{ perms: 7, scheme: 'x509', id: 'CN=new' }]))],
      ['delete of the only holder of a list', (t) => t.ok(del('/x'))],
      ['deleteTree', (t) => t.ok(delTree('/a'))],
      ['setAcl of / and a failed multi', (t) => {
        t.ok(setAcl('/', [world(R | C)]));
        t.fail(multi(mk('/m', [bob(A)]), mk('/m')));
      }],
      ['a denied create with a new list', (t) => t.fail(mk('/a/z', [bob(1)]), BOB)],
    ];
    for (const [name, fn] of after) {
      it(name, () => {
        const t = aclTree();
        const z = t.zxid;
        const want = new Driver();
        for (const [op, access] of t.log) want.run(op, access);
        const w = t.tree.beginSnapshot({ nameBytesPerNode: 1 });
        w.step(2);
        fn(t);
        w.step(3);
        t.ok(setAcl('/open', [alice(R)]));
        const got = w.finish();
        expect(w.zxid).toBe(z);
        expectSameBytes(got, want.tree.snapshot());
        const r = DataTree.restore(got);
        expect(aclsOf(r)).toEqual(aclsOf(want.tree));
        expect(r.digest()).toBe(want.tree.digest());
      });
    }
  });

  describe('a v1 snapshot (before ACLs)', () => {
    /** A v2 snapshot of `tree` rewritten as v1: five ints per node, no acls. */
    const asV1 = (tree: DataTree): Uint8Array => {
      const s = decode(tree.snapshot()) as Record<string, unknown>;
      const ints = s.ints as Uint8Array;
      const n = (s.names as unknown[]).length;
      const v2 = new DataView(ints.buffer, ints.byteOffset, ints.byteLength);
      const out = new Uint8Array(20 * n);
      const v1 = new DataView(out.buffer);
      for (let i = 0; i < n; i++) for (let f = 0; f < 5; f++) v1.setInt32((5 * i + f) * 4, v2.getInt32((7 * i + f) * 4, true), true);
      const { acls: _acls, ...rest } = s;
      return encode({ ...rest, v: 1, ints: out });
    };

    it('restores with every znode open at aversion 0, /zookeeper/config read-only at -1', () => {
      const t = new Driver();
      t.ok(mk('/a', undefined, { data: bytes('hello') }));
      t.ok(mk('/a/b', undefined, { mode: 'ephemeral', owner: 9n }));
      t.ok(mk('/c', undefined, { mode: 'container' }));
      t.ok(set('/a'));
      const r = DataTree.restore(asV1(t.tree));
      expect(r.digest()).toBe(t.tree.digest());
      expect(r.aclLists).toBe(2);
      for (const p of allPaths(r)) {
        if (p === '/zookeeper/config') {
          expect(r.aclOf(p)).toEqual({ acl: READ_ACL_UNSAFE, stat: expect.objectContaining({ aversion: -1 }) });
        } else {
          expect(r.aclOf(p)!.acl).toEqual(OPEN_ACL_UNSAFE);
          expect(r.stat(p)!.aversion).toBe(0);
        }
      }
      // It snapshots as v2, as a tree that never was v1 does.
      expectSameBytes(r.snapshot(), t.tree.snapshot());
      const d2 = new Driver(r);
      d2.ok(mk('/a/x', [alice(ALL)]));
      expect(d2.code(set('/a/x'), BOB)).toBe('NoAuth');
    });

    it('a v1 snapshot with a v2 stride is refused', () => {
      const s = decode(new DataTree().snapshot()) as Record<string, unknown>;
      expectInconsistent(encode({ ...s, v: 1 }));
    });
  });

  describe('tampering', () => {
    const good = (): Record<string, unknown> => decode(aclTree().tree.snapshot()) as Record<string, unknown>;

    it('a malformed acls section is DataInconsistency', () => {
      const s = good();
      const acls = s.acls as { next: number; lists: [number, unknown][] };
      const lists = acls.lists;
      const bad: unknown[] = [
        undefined,
        null,
        42,
        [],
        { next: acls.next },
        { lists },
        { next: 'x', lists },
        { next: 0, lists },
        { next: 1.5, lists },
        { next: acls.next, lists: {} },
        { next: 2, lists },
        { next: acls.next, lists: [...lists, lists[1]] },
        { next: acls.next, lists: [...lists, [99, lists[1]![1]]] },
        { next: acls.next, lists: lists.map(([id, l], i) => (i === 1 ? [id, []] : [id, l])) },
        { next: acls.next, lists: lists.map(([id, l], i) => (i === 1 ? [id, [{ perms: 1, scheme: 'auth', id: '' }]] : [id, l])) },
        { next: acls.next, lists: lists.map(([id, l], i) => (i === 1 ? [id, [{ perms: 'r', scheme: 'world', id: 'anyone' }]] : [id, l])) },
        { next: acls.next, lists: lists.map(([id, l], i) => (i === 1 ? [id, [{ perms: 1, scheme: 'ip', id: 'nope' }]] : [id, l])) },
        { next: acls.next, lists: lists.map(([id, l], i) => (i === 1 ? [-1, l] : [id, l])) },
        { next: acls.next, lists: lists.map(([id, l], i) => (i === 1 ? [1.5, l] : [id, l])) },
        { next: acls.next, lists: lists.map(([id, l], i) => (i === 1 ? [id] : [id, l])) },
        { next: acls.next, lists: lists.map(([id, l], i) => (i === 0 ? [id, [{ perms: 1, scheme: 'world', id: 'anyone' }]] : [id, l])) },
        { next: acls.next, lists: lists.filter((_l, i) => i !== 1) },
        { next: acls.next, lists: [[acls.next, lists[1]![1]], ...lists.filter((_l, i) => i !== 1)] },
        { next: 2 ** 40, lists },
      ];
      for (const acl of bad) {
        const b = encode({ ...s, acls: acl });
        let thrown: unknown;
        try {
          DataTree.restore(b);
        } catch (e) {
          thrown = e;
        }
        expect([acl, thrown instanceof ZgateError && thrown.code]).toEqual([acl, 'DataInconsistency']);
      }
      const { acls: _omit, ...noAcls } = s;
      expectInconsistent(encode(noAcls));
    });

    it('an ACL id not in the lists is DataInconsistency', () => {
      const s = good();
      const ints = s.ints as Uint8Array;
      const withId = (i: number, id: number): Uint8Array => {
        const c = new Uint8Array(ints);
        new DataView(c.buffer).setInt32((7 * i + 6) * 4, id, true);
        return c;
      };
      const acls = s.acls as { next: number };
      for (const id of [-1, acls.next, acls.next + 5, 2 ** 31 - 1]) {
        expectInconsistent(encode({ ...s, ints: withId(0, id) }));
        expectInconsistent(encode({ ...s, ints: withId(3, id) }));
      }
      // An id that is in the lists is another valid tree, and restores.
      const r = DataTree.restore(encode({ ...s, ints: withId(3, 0) }));
      expect(r.aclOf(allPaths(r)[3]!)!.acl).toEqual(OPEN_ACL_UNSAFE);
    });
  });

  describe('digest', () => {
    it('differs when only an ACL differs', () => {
      const a = new Driver();
      const b = new Driver();
      a.ok(mk('/n', [alice(ALL)]));
      b.ok(mk('/n', [alice(ALL - 1)]));
      expect(a.tree.digest()).not.toBe(b.tree.digest());
      const c = new Driver();
      c.ok(mk('/n', [alice(ALL)]));
      expect(c.tree.digest()).toBe(a.tree.digest());
      // An aversion alone too.
      c.ok(setAcl('/n', [alice(ALL)]));
      a.ok({ op: 'noop' });
      expect(c.tree.digest()).not.toBe(a.tree.digest());
    });

    it('is equal when ids differ but the lists agree', () => {
      const a = new Driver();
      const b = new Driver();
      for (const t of [a, b]) {
        t.ok(mk('/a'));
        t.ok(mk('/b'));
      }
      a.ok(setAcl('/a', [alice(ALL)]));
      a.ok(setAcl('/b', [bob(ALL)]));
      b.ok(setAcl('/b', [bob(ALL)]));
      b.ok(setAcl('/a', [alice(ALL)]));
      expect(aclsOf(a.tree)).toEqual(aclsOf(b.tree));
      expect(a.tree.digest()).toBe(b.tree.digest());
      // The snapshots differ: they carry the ids.
      expect(Buffer.compare(Buffer.from(a.tree.snapshot()), Buffer.from(b.tree.snapshot()))).not.toBe(0);
    });
  });
});
