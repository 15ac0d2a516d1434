import { runInNewContext } from 'node:vm';
import { ZgateError } from '../../src/core/errors.js';
import type { ApplyOutcome, CreateOp, Op, OpFailure, OpResult, Stat, SubOp, TreeEvent } from '../../src/core/types.js';
import { AssertionFailure } from '../../src/util/assert.js';
import { decode, encode } from '../../src/util/codec.js';
import { MultiOpError } from '../../src/core/errors.js';
import { DataTree, formatSequence } from '../../src/tree/datatree.js';

const T0 = 1_700_000_000_000;

/** An outcome whose events name type and path only. */
function withoutAcls(r: ApplyOutcome): ApplyOutcome {
  return r.ok ? { ...r, events: r.events.map(({ type, path }) => ({ type, path })) } : r;
}
const EMPTY = new Uint8Array(0);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const OWNER = 0x1234_5678_9abc_def0n;
const OTHER = 7n;

/** A DataTree driven at zxids 1, 2, 3... with time T0 + zxid unless given. */
class Harness {
  zxid = 0;
  constructor(public tree = new DataTree()) {
    this.zxid = tree.lastZxid;
  }
  run(op: Op, time?: number): ApplyOutcome {
    this.zxid++;
    return this.tree.apply(op, this.zxid, time ?? T0 + this.zxid);
  }
  /** The events without their ACLs (test/tree/acl.test.ts checks those). */
  ok(op: Op, time?: number): { result: OpResult; events: TreeEvent[] } {
    const r = withoutAcls(this.run(op, time));
    if (!r.ok) throw new Error(`expected success, got ${JSON.stringify(r.failure)}`);
    return { result: r.result, events: r.events };
  }
  fail(op: Op): OpFailure {
    const r = this.run(op);
    if (r.ok) throw new Error(`expected failure, got ${JSON.stringify(r.result, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
    expect(r.events).toEqual([]);
    return r.failure;
  }
  code(op: Op): string {
    return this.fail(op).code;
  }
  /** Creates and returns the created path. */
  create(path: string, extra: Partial<CreateOp> = {}, time?: number): string {
    const r = this.ok(mk(path, extra), time).result;
    if (r.op !== 'create') throw new Error('not a create');
    return r.path;
  }
  stat(path: string): Stat {
    const s = this.tree.stat(path);
    if (s === undefined) throw new Error(`no ${path}`);
    return s;
  }
}

function mk(path: string, extra: Partial<CreateOp> = {}): CreateOp {
  return { op: 'create', path, data: EMPTY, mode: 'persistent', ...extra };
}
const set = (path: string, data: Uint8Array, version = -1): Op => ({ op: 'set', path, data, version });
const del = (path: string, version = -1): Op => ({ op: 'delete', path, version });
const check = (path: string, version = -1): Op => ({ op: 'check', path, version });
const delTree = (path: string, version = -1, maxNodes = 100_000): Op => ({ op: 'deleteTree', path, version, maxNodes });
const multi = (...ops: SubOp[]): Op => ({ op: 'multi', ops });

/** Every node's path, pre-order, via the public API only. */
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

/** Everything a client can observe of a tree. */
function observe(tree: DataTree): unknown {
  return allPaths(tree).map((p) => ({ p, node: tree.get(p), children: tree.children(p) }));
}

function expectSameTree(a: DataTree, b: DataTree): void {
  expect(b.digest()).toBe(a.digest());
  expect(observe(b)).toEqual(observe(a));
  expect(b.nodeCount).toBe(a.nodeCount);
  expect(b.dataBytes).toBe(a.dataBytes);
  expect(b.lastZxid).toBe(a.lastZxid);
  expect(b.containerCandidates()).toEqual(a.containerCandidates());
  expect(b.ephemeralOwners()).toEqual(a.ephemeralOwners());
  for (const o of a.ephemeralOwners()) expect(b.ephemeralsOf(o)).toEqual(a.ephemeralsOf(o));
  for (const now of [0, T0, T0 + 10_000, Number.MAX_SAFE_INTEGER]) expect(b.ttlCandidates(now)).toEqual(a.ttlCandidates(now));
}

let h: Harness;
beforeEach(() => {
  h = new Harness();
});

describe('the initial tree', () => {
  it('is a fresh ZooKeeper: /, /zookeeper, /zookeeper/quota, /zookeeper/config', () => {
    const t = h.tree;
    expect(t.nodeCount).toBe(4);
    expect(t.dataBytes).toBe(0);
    expect(t.lastZxid).toBe(0);
    expect(t.children('/')).toEqual(['zookeeper']);
    expect(t.children('/zookeeper')).toEqual(['config', 'quota']);
    expect(t.children('/zookeeper/quota')).toEqual([]);
    const zero = { czxid: 0, mzxid: 0, pzxid: 0, ctime: 0, mtime: 0, version: 0, aversion: 0, ephemeralOwner: 0n, dataLength: 0 };
    // Reported cversion is stored (0) * 2 - numChildren.
    expect(t.stat('/')).toEqual({ ...zero, cversion: -1, numChildren: 1 });
    expect(t.stat('/zookeeper')).toEqual({ ...zero, cversion: -2, numChildren: 2 });
    expect(t.stat('/zookeeper/quota')).toEqual({ ...zero, cversion: 0, numChildren: 0 });
    // As ZooKeeper 3.8 reports it: /zookeeper/config is created with ACL version -1.
    expect(t.stat('/zookeeper/config')).toEqual({ ...zero, aversion: -1, cversion: 0, numChildren: 0 });
  });

  it('the first sequential child of / is numbered 0', () => {
    expect(h.create('/s-', { mode: 'persistent_sequential' })).toBe('/s-0000000000');
    expect(h.stat('/').cversion).toBe(0); // 1 create * 2 - 2 children
  });

  it('reads of missing or malformed paths answer undefined', () => {
    for (const p of ['/nope', '/a/', '', 'a', '//', '/zookeeper/', '/zookeeper//quota']) {
      expect(h.tree.get(p)).toBeUndefined();
      expect(h.tree.stat(p)).toBeUndefined();
      expect(h.tree.children(p)).toBeUndefined();
      expect(h.tree.has(p)).toBe(false);
    }
  });
});

describe('Stat bookkeeping (zookeeper-semantics.md 2.3)', () => {
  it('at create: czxid = mzxid = pzxid = zxid, ctime = mtime = the given time, counters 0', () => {
    const r = h.ok(mk('/a', { data: bytes('hello') }), 555).result;
    const expected: Stat = {
      czxid: 1,
      mzxid: 1,
      pzxid: 1,
      ctime: 555,
      mtime: 555,
      version: 0,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: 0n,
      dataLength: 5,
      numChildren: 0,
    };
    expect(r).toEqual({ op: 'create', path: '/a', stat: expected });
    expect(h.stat('/a')).toEqual(expected);
  });

  it('setData: mzxid, mtime, version and dataLength change; nothing else', () => {
    h.create('/a', { data: bytes('x') });
    h.create('/a/c');
    const before = h.stat('/a');
    const r = h.ok(set('/a', bytes('longer')), 999).result;
    const after = h.stat('/a');
    expect(r).toEqual({ op: 'set', path: '/a', stat: after });
    expect(after).toEqual({ ...before, mzxid: 3, mtime: 999, version: 1, dataLength: 6 });
  });

  it('setData with identical bytes still bumps version, mzxid and mtime', () => {
    h.create('/a', { data: bytes('same') });
    h.ok(set('/a', bytes('same')));
    h.ok(set('/a', bytes('same')));
    expect(h.stat('/a')).toMatchObject({ version: 2, mzxid: 3, mtime: T0 + 3, czxid: 1, ctime: T0 + 1 });
  });

  it('a child create: parent pzxid = zxid, cversion +1, numChildren +1; its data fields untouched', () => {
    h.create('/p', { data: bytes('d') });
    const before = h.stat('/p');
    h.create('/p/c');
    expect(h.stat('/p')).toEqual({ ...before, pzxid: 2, cversion: 1, numChildren: 1 });
  });

  it('a child delete: parent pzxid = zxid, reported cversion +1, numChildren -1', () => {
    h.create('/p');
    h.create('/p/c');
    const before = h.stat('/p');
    h.ok(del('/p/c'));
    expect(h.stat('/p')).toEqual({ ...before, pzxid: 3, cversion: 2, numChildren: 0 });
  });

  it('reported cversion = creates + deletes: 3 creates and 1 delete report 4', () => {
    h.create('/p');
    h.create('/p/a');
    h.create('/p/b');
    h.create('/p/c');
    h.ok(del('/p/b'));
    expect(h.stat('/p')).toMatchObject({ cversion: 4, numChildren: 2 });
    // The stored counter is still 3: it names the next sequential child.
    expect(h.create('/p/s-', { mode: 'persistent_sequential' })).toBe('/p/s-0000000003');
  });

  it("a child's data change touches neither the parent's pzxid nor its cversion", () => {
    h.create('/p');
    h.create('/p/c');
    const before = h.stat('/p');
    h.ok(set('/p/c', bytes('new')));
    expect(h.stat('/p')).toEqual(before);
  });

  it('a grandchild create does not touch the grandparent', () => {
    h.create('/g');
    h.create('/g/p');
    const before = h.stat('/g');
    h.create('/g/p/c');
    expect(h.stat('/g')).toEqual(before);
  });

  it('pzxid after a create and a delete of the same child in one multi is that zxid', () => {
    h.create('/p');
    h.ok(multi(mk('/p/c'), del('/p/c') as SubOp));
    expect(h.stat('/p')).toMatchObject({ pzxid: 2, cversion: 2, numChildren: 0 });
  });

  it('ephemeralOwner: the session for ephemeral modes, 0 for container and TTL znodes', () => {
    h.create('/e', { mode: 'ephemeral', owner: OWNER });
    h.create('/es-', { mode: 'ephemeral_sequential', owner: OWNER });
    h.create('/c', { mode: 'container' });
    h.create('/t', { mode: 'persistent_with_ttl', ttl: 1000 });
    h.create('/ts-', { mode: 'persistent_sequential_with_ttl', ttl: 1000 });
    expect(h.stat('/e').ephemeralOwner).toBe(OWNER);
    expect(h.stat('/es-0000000001').ephemeralOwner).toBe(OWNER);
    expect(h.stat('/c').ephemeralOwner).toBe(0n);
    expect(h.stat('/t').ephemeralOwner).toBe(0n);
    expect(h.stat('/ts-0000000004').ephemeralOwner).toBe(0n);
  });

  it('aversion is always 0 (zgate has no setACL) but for /zookeeper/config', () => {
    h.create('/a');
    h.ok(set('/a', bytes('1')));
    expect(h.stat('/a').aversion).toBe(0);
  });

  it('stat objects are fresh copies', () => {
    h.create('/a');
    const s = h.stat('/a');
    s.version = 99;
    expect(h.stat('/a').version).toBe(0);
  });
});

describe('data', () => {
  it('is copied on create and set: callers may reuse their buffers', () => {
    const buf = bytes('abc');
    h.create('/a', { data: buf });
    buf[0] = 0x7a;
    expect(h.tree.get('/a')!.data).toEqual(bytes('abc'));
    h.ok(set('/a', buf));
    buf[1] = 0x7a;
    expect(h.tree.get('/a')!.data).toEqual(bytes('zbc'));
  });

  it('is stored as a plain Uint8Array with its own buffer, even when given a view', () => {
    const backing = bytes('0123456789');
    h.create('/a', { data: backing.subarray(2, 5) });
    const d = h.tree.get('/a')!.data;
    expect(d).toEqual(bytes('234'));
    expect(d.byteOffset).toBe(0);
    expect(d.buffer.byteLength).toBe(3);
  });

  it('accepts bytes from another realm (a Buffer, a Uint8Array made in another context)', () => {
    const foreign = runInNewContext('new Uint8Array([1, 2, 3])') as Uint8Array;
    expect(foreign instanceof Uint8Array).toBe(false);
    h.create('/f', { data: foreign });
    h.create('/b', { data: Buffer.from('buf') });
    expect(h.tree.get('/f')!.data).toEqual(new Uint8Array([1, 2, 3]));
    expect(h.tree.get('/b')!.data).toEqual(bytes('buf'));
    expect(Object.getPrototypeOf(h.tree.get('/b')!.data)).toBe(Uint8Array.prototype);
  });

  it('binary data round-trips untouched', () => {
    const bin = new Uint8Array([0, 255, 128, 0xc3, 0x28]);
    h.create('/b', { data: bin });
    expect(h.tree.get('/b')!.data).toEqual(bin);
  });

  it('dataBytes and nodeCount follow every change', () => {
    h.create('/a', { data: bytes('12345') });
    h.create('/a/b', { data: bytes('12') });
    expect([h.tree.nodeCount, h.tree.dataBytes]).toEqual([6, 7]);
    h.ok(set('/a', bytes('1')));
    expect(h.tree.dataBytes).toBe(3);
    h.ok(del('/a/b'));
    expect([h.tree.nodeCount, h.tree.dataBytes]).toEqual([5, 1]);
  });

  describe('size limit', () => {
    beforeEach(() => {
      h = new Harness(new DataTree({ maxDataBytes: 10 }));
    });

    it('exactly the limit fits; one byte more is PayloadTooLarge, for create and set', () => {
      h.create('/a', { data: new Uint8Array(10) });
      const f = h.fail(mk('/b', { data: new Uint8Array(11) }));
      expect(f.code).toBe('PayloadTooLarge');
      expect(f.message).toMatch(/11 bytes.*10 bytes/);
      expect(h.code(set('/a', new Uint8Array(11)))).toBe('PayloadTooLarge');
      expect(h.tree.has('/b')).toBe(false);
      expect(h.stat('/a').version).toBe(0);
    });

    it('PayloadTooLarge comes before every other check', () => {
      expect(h.code(mk('/zookeeper/x', { data: new Uint8Array(11), mode: 'bogus' as never }))).toBe('PayloadTooLarge');
      expect(h.code(set('/missing', new Uint8Array(11), -5))).toBe('PayloadTooLarge');
    });

    it('a multi may carry at most the limit in all its ops together', () => {
      h.ok(multi(mk('/a', { data: new Uint8Array(5) }), mk('/b', { data: new Uint8Array(5) })));
      const f = h.fail(multi(mk('/c', { data: new Uint8Array(5) }), set('/a', new Uint8Array(6)) as SubOp));
      expect(f.code).toBe('PayloadTooLarge');
      expect(f.opIndex).toBeUndefined();
      expect(h.tree.has('/c')).toBe(false);
    });
  });
});

describe('create modes', () => {
  it('persistent', () => {
    expect(h.create('/p', { data: bytes('v') })).toBe('/p');
    expect(h.tree.get('/p')!.data).toEqual(bytes('v'));
  });

  it('persistent_sequential appends the parent counter as %010d', () => {
    h.create('/q');
    expect(h.create('/q/item-', { mode: 'persistent_sequential' })).toBe('/q/item-0000000000');
    expect(h.create('/q/item-', { mode: 'persistent_sequential' })).toBe('/q/item-0000000001');
    expect(h.tree.children('/q')).toEqual(['item-0000000000', 'item-0000000001']);
  });

  it("a sequential path may end in '/': '/queue/' names '/queue/0000000000'", () => {
    h.create('/queue');
    expect(h.create('/queue/', { mode: 'persistent_sequential' })).toBe('/queue/0000000000');
    expect(h.create('/', { mode: 'persistent_sequential' })).toBe('/0000000001');
  });

  it('ephemeral and ephemeral_sequential are indexed by owner', () => {
    h.create('/e2', { mode: 'ephemeral', owner: OWNER });
    h.create('/q');
    h.create('/q/e-', { mode: 'ephemeral_sequential', owner: OWNER });
    h.create('/e1', { mode: 'ephemeral', owner: OTHER });
    expect(h.tree.ephemeralsOf(OWNER)).toEqual(['/e2', '/q/e-0000000000']);
    expect(h.tree.ephemeralsOf(OTHER)).toEqual(['/e1']);
    expect(h.tree.ephemeralsOf(99n)).toEqual([]);
    expect(h.tree.ephemeralOwners()).toEqual([OTHER, OWNER]);
    h.ok(del('/e2'));
    expect(h.tree.ephemeralsOf(OWNER)).toEqual(['/q/e-0000000000']);
    h.ok(del('/q/e-0000000000'));
    expect(h.tree.ephemeralsOf(OWNER)).toEqual([]);
    expect(h.tree.ephemeralOwners()).toEqual([OTHER]);
  });

  it('ephemeral modes need an owner: a non-zero bigint', () => {
    for (const owner of [undefined, 0n, 5 as unknown as bigint, '5' as unknown as bigint, 2n ** 64n]) {
      for (const mode of ['ephemeral', 'ephemeral_sequential'] as const) {
        const f = h.fail(mk('/e', { mode, owner }));
        expect(f.code).toBe('BadArguments');
        expect(f.message).toMatch(/owning session/);
      }
    }
    expect(h.create('/neg', { mode: 'ephemeral', owner: -5n })).toBe('/neg');
  });

  it('an owner on a non-ephemeral create is ignored', () => {
    h.create('/p', { owner: OWNER });
    expect(h.stat('/p').ephemeralOwner).toBe(0n);
    expect(h.tree.ephemeralsOf(OWNER)).toEqual([]);
  });

  it('container: due once it has had a child and has none; a never-used one stays', () => {
    h.create('/c', { mode: 'container' });
    h.create('/never', { mode: 'container' });
    expect(h.tree.containerCandidates()).toEqual([]);
    h.create('/c/x');
    expect(h.tree.containerCandidates()).toEqual([]);
    h.ok(del('/c/x'));
    expect(h.tree.containerCandidates()).toEqual(['/c']);
    h.create('/c/y');
    expect(h.tree.containerCandidates()).toEqual([]);
    h.ok(del('/c/y'));
    h.ok(del('/c'));
    expect(h.tree.containerCandidates()).toEqual([]);
  });

  it('a container emptied by an ephemeral child leaving is due', () => {
    h.create('/lock', { mode: 'container' });
    h.create('/lock/l-', { mode: 'ephemeral_sequential', owner: OWNER });
    h.ok(del('/lock/l-0000000000'));
    expect(h.tree.containerCandidates()).toEqual(['/lock']);
  });

  it('TTL: due once childless and now - mtime > ttl; setData keeps it alive; children do not', () => {
    h.create('/t', { mode: 'persistent_with_ttl', ttl: 1000 }, 10_000);
    expect(h.tree.ttlCandidates(11_000)).toEqual([]); // not strictly greater yet
    expect(h.tree.ttlCandidates(11_001)).toEqual(['/t']);
    h.create('/t/c', {}, 10_500);
    expect(h.tree.ttlCandidates(50_000)).toEqual([]);
    h.ok(del('/t/c'));
    // The child coming and going did not refresh mtime.
    expect(h.tree.ttlCandidates(11_001)).toEqual(['/t']);
    h.ok(set('/t', bytes('x')), 20_000);
    expect(h.tree.ttlCandidates(21_000)).toEqual([]);
    expect(h.tree.ttlCandidates(21_001)).toEqual(['/t']);
  });

  it('persistent_sequential_with_ttl', () => {
    const p = h.create('/t-', { mode: 'persistent_sequential_with_ttl', ttl: 5 }, 100);
    expect(p).toBe('/t-0000000000');
    expect(h.tree.ttlCandidates(106)).toEqual([p]);
    h.ok(del(p));
    expect(h.tree.ttlCandidates(1e9)).toEqual([]);
  });

  it('candidates are sorted', () => {
    for (const n of ['b', 'a', 'c']) h.create(`/${n}`, { mode: 'persistent_with_ttl', ttl: 1 }, 0);
    expect(h.tree.ttlCandidates(10)).toEqual(['/a', '/b', '/c']);
  });
});

describe('TTL validation (ZooKeeper observation 4)', () => {
  const ttlModes = ['persistent_with_ttl', 'persistent_sequential_with_ttl'] as const;
  const otherModes = ['persistent', 'persistent_sequential', 'ephemeral', 'ephemeral_sequential', 'container'] as const;

  it.each(ttlModes)('%s accepts 1 and 2^40-1', (mode) => {
    h.create('/a', { mode, ttl: 1 });
    h.create('/b', { mode, ttl: 2 ** 40 - 1 });
  });

  it.each(ttlModes)('%s refuses 0, 2^40, negatives, fractions, non-numbers and a missing ttl', (mode) => {
    for (const ttl of [0, 2 ** 40, -1, 1.5, NaN, Infinity, '5' as unknown as number, undefined]) {
      expect(h.code(mk('/a', { mode, ttl }))).toBe('BadArguments');
    }
    expect(h.tree.has('/a')).toBe(false);
  });

  it.each(otherModes)('a ttl with %s is BadArguments (any value, -1 included)', (mode) => {
    for (const ttl of [1000, 0, -1]) {
      const f = h.fail(mk('/a', { mode, ttl, owner: OWNER }));
      expect(f.code).toBe('BadArguments');
      expect(f.message).toMatch(/ttl/);
    }
  });

  it('an unknown mode is BadArguments', () => {
    expect(h.code(mk('/a', { mode: 'ttl' as never, ttl: 5 }))).toBe('BadArguments');
    expect(h.code(mk('/a', { mode: 7 as never }))).toBe('BadArguments');
  });
});

describe('sequential numbering (ZooKeeper observations 1 and 2)', () => {
  it('example 1: the suffix counts child creates, not the reported cversion', () => {
    h.create('/p');
    expect(h.create('/p/s-', { mode: 'persistent_sequential' })).toBe('/p/s-0000000000');
    expect(h.create('/p/s-', { mode: 'persistent_sequential' })).toBe('/p/s-0000000001');
    h.ok(del('/p/s-0000000000'));
    expect(h.stat('/p').cversion).toBe(3);
    expect(h.create('/p/s-', { mode: 'persistent_sequential' })).toBe('/p/s-0000000002');
  });

  it('all prefixes and all modes under one parent share the counter', () => {
    h.create('/p');
    h.create('/p/plain');
    expect(h.create('/p/x-', { mode: 'persistent_sequential' })).toBe('/p/x-0000000001');
    h.create('/p/e', { mode: 'ephemeral', owner: OWNER });
    expect(h.create('/p/y-', { mode: 'ephemeral_sequential', owner: OWNER })).toBe('/p/y-0000000003');
    expect(h.create('/p/', { mode: 'persistent_sequential_with_ttl', ttl: 9 })).toBe('/p/0000000004');
  });

  it('example 2: a collision fails NodeExists, does not advance the counter, and a retry fails the same', () => {
    h.create('/p');
    h.create('/p/s-0000000001');
    const f = h.fail(mk('/p/s-', { mode: 'persistent_sequential' }));
    expect(f).toMatchObject({ code: 'NodeExists', path: '/p/s-0000000001' });
    expect(h.fail(mk('/p/s-', { mode: 'persistent_sequential' })).code).toBe('NodeExists');
    expect(h.stat('/p')).toMatchObject({ cversion: 1, pzxid: 2 });
    // Another create moves the counter past the collision.
    h.create('/p/other');
    expect(h.create('/p/s-', { mode: 'persistent_sequential' })).toBe('/p/s-0000000002');
  });

  it("formatSequence is Java's %010d", () => {
    expect(formatSequence(0)).toBe('0000000000');
    expect(formatSequence(7)).toBe('0000000007');
    expect(formatSequence(1234567890)).toBe('1234567890');
    expect(formatSequence(2147483647)).toBe('2147483647');
    expect(formatSequence(-1)).toBe('-000000001');
    expect(formatSequence(-5)).toBe('-000000005');
    expect(formatSequence(-123456789)).toBe('-123456789');
    expect(formatSequence(-1234567890)).toBe('-1234567890');
    expect(formatSequence(-2147483648)).toBe('-2147483648');
  });

  it('the counter is a signed 32-bit int: after 2147483647 comes -2147483648', () => {
    h.create('/w');
    // Set /w's stored counter through a snapshot, the way a long-lived tree would carry it.
    const snap = decode(h.tree.snapshot()) as Record<string, unknown>;
    const names = snap.names as string[];
    const i = names.indexOf('w');
    const ints = new Uint8Array(snap.ints as Uint8Array);
    new DataView(ints.buffer).setInt32((7 * i + 2) * 4, 2147483647, true);
    h = new Harness(DataTree.restore(encode({ ...snap, ints })));
    expect(h.stat('/w').cversion).toBe((2147483647 * 2) | 0);
    expect(h.create('/w/s-', { mode: 'persistent_sequential' })).toBe('/w/s-2147483647');
    expect(h.create('/w/s-', { mode: 'persistent_sequential' })).toBe('/w/s--2147483648');
    expect(h.create('/w/s-', { mode: 'persistent_sequential' })).toBe('/w/s--2147483647');
    expect(h.create('/w/', { mode: 'persistent_sequential' })).toBe('/w/-2147483646');
    // Reported cversion wraps as Java's int arithmetic does: stored * 2 - numChildren.
    expect(h.stat('/w').cversion).toBe((-2147483645 * 2 - 4) | 0);
    expect(h.tree.children('/w')).toEqual(['-2147483646', 's--2147483647', 's--2147483648', 's-2147483647']);
  });
});

describe('create errors and their precedence (ZooKeeper observation 8)', () => {
  it('NoNode when the parent is missing', () => {
    const f = h.fail(mk('/missing/child'));
    expect(f).toMatchObject({ code: 'NoNode', path: '/missing/child' });
    expect(f.message).toContain('"/missing"');
  });

  it('NodeExists for an existing znode, and for "/"', () => {
    h.create('/a');
    expect(h.fail(mk('/a'))).toMatchObject({ code: 'NodeExists', path: '/a' });
    expect(h.fail(mk('/'))).toMatchObject({ code: 'NodeExists', path: '/' });
  });

  it('NoChildrenForEphemerals under an ephemeral parent, naming the computed path', () => {
    h.create('/e', { mode: 'ephemeral', owner: OWNER });
    expect(h.code(mk('/e/c'))).toBe('NoChildrenForEphemerals');
    expect(h.fail(mk('/e/s-', { mode: 'persistent_sequential' }))).toMatchObject({
      code: 'NoChildrenForEphemerals',
      path: '/e/s-0000000000',
    });
    expect(h.code(mk('/e/c', { mode: 'ephemeral', owner: OWNER }))).toBe('NoChildrenForEphemerals');
  });

  it('container and TTL parents may have children', () => {
    h.create('/c', { mode: 'container' });
    h.create('/t', { mode: 'persistent_with_ttl', ttl: 5 });
    h.create('/c/x');
    h.create('/t/x', { mode: 'ephemeral', owner: OWNER });
  });

  it('mode and ttl are checked before the parent', () => {
    expect(h.code(mk('/missing/c', { mode: 'persistent_with_ttl' }))).toBe('BadArguments');
    expect(h.code(mk('/missing/c', { mode: 'ephemeral' }))).toBe('BadArguments');
  });

  it('a missing parent is reported before a bad path (ZooKeeper validates the full path after the parent lookup)', () => {
    expect(h.code(mk('/missing/bad\u0001'))).toBe('NoNode');
    h.create('/a');
    expect(h.code(mk('/a/bad\u0001'))).toBe('BadArguments');
    expect(h.code(mk('/a/'))).toBe('BadArguments');
    expect(h.code(mk('/a/.'))).toBe('BadArguments');
    // A path with no leading slash has no parent to look up.
    expect(h.code(mk('a'))).toBe('BadArguments');
    expect(h.code(mk(''))).toBe('BadArguments');
    expect(h.code(mk('/a/\u0000x'))).toBe('BadArguments');
  });

  it('NoNode comes before NoChildrenForEphemerals, a bad path before it too', () => {
    h.create('/e', { mode: 'ephemeral', owner: OWNER });
    expect(h.code(mk('/e/missing/c'))).toBe('NoNode');
    expect(h.code(mk('/e/bad\u007f'))).toBe('BadArguments');
  });

  it('NodeExists wins over NoChildrenForEphemerals: the existing ephemeral itself', () => {
    // An ephemeral never has children, so the one input where both checks could apply is
    // the ephemeral znode itself, whose parent is not ephemeral: NodeExists.
    h.create('/e', { mode: 'ephemeral', owner: OWNER });
    expect(h.code(mk('/e', { mode: 'ephemeral', owner: OWNER }))).toBe('NodeExists');
  });

  it('failed creates change nothing', () => {
    h.create('/p');
    const digest = h.tree.digest();
    const stat = h.stat('/p');
    h.fail(mk('/p'));
    h.fail(mk('/p/x', { mode: 'persistent_with_ttl' }));
    h.fail(mk('/p/x/y'));
    expect(h.tree.digest()).toBe(digest);
    expect(h.stat('/p')).toEqual(stat);
  });
});

describe('parents: true (mkdir -p)', () => {
  it('creates each missing ancestor as a persistent znode with empty data, each a real create', () => {
    h.create('/a');
    const r = h.ok(mk('/a/b/c/d', { data: bytes('leaf'), parents: true }));
    expect(r.result).toMatchObject({ op: 'create', path: '/a/b/c/d' });
    expect(r.events).toEqual([
      { type: 'NodeCreated', path: '/a/b' },
      { type: 'NodeChildrenChanged', path: '/a' },
      { type: 'NodeCreated', path: '/a/b/c' },
      { type: 'NodeChildrenChanged', path: '/a/b' },
      { type: 'NodeCreated', path: '/a/b/c/d' },
      { type: 'NodeChildrenChanged', path: '/a/b/c' },
    ]);
    expect(h.stat('/a')).toMatchObject({ cversion: 1, pzxid: 2, numChildren: 1 });
    expect(h.stat('/a/b')).toMatchObject({ czxid: 2, cversion: 1, pzxid: 2, dataLength: 0, ephemeralOwner: 0n });
    expect(h.stat('/a/b/c')).toMatchObject({ czxid: 2, cversion: 1, pzxid: 2, numChildren: 1 });
    expect(h.tree.get('/a/b/c/d')!.data).toEqual(bytes('leaf'));
    expect(h.tree.nodeCount).toBe(4 + 4);
  });

  it('with nothing missing it is a plain create', () => {
    h.create('/a');
    expect(h.ok(mk('/a/b', { parents: true })).events).toHaveLength(2);
    expect(h.code(mk('/a/b', { parents: true }))).toBe('NodeExists');
  });

  it('works with sequential and ephemeral leaves', () => {
    expect(h.create('/q/r/', { mode: 'persistent_sequential', parents: true })).toBe('/q/r/0000000000');
    expect(h.create('/x/y/e', { mode: 'ephemeral', owner: OWNER, parents: true })).toBe('/x/y/e');
    expect(h.stat('/x/y').ephemeralOwner).toBe(0n);
  });

  it('an ephemeral ancestor gives NoChildrenForEphemerals and creates nothing', () => {
    h.create('/e', { mode: 'ephemeral', owner: OWNER });
    const digest = h.tree.digest();
    expect(h.code(mk('/e/a/b', { parents: true }))).toBe('NoChildrenForEphemerals');
    expect(h.code(mk('/e/a', { parents: true }))).toBe('NoChildrenForEphemerals');
    expect(h.tree.digest()).toBe(digest);
  });

  it('a bad path is refused before any ancestor is made', () => {
    expect(h.code(mk('/a/b//c', { parents: true }))).toBe('BadArguments');
    expect(h.code(mk('/a/./c', { parents: true }))).toBe('BadArguments');
    expect(h.tree.has('/a')).toBe(false);
  });

  it('under /zookeeper is BadArguments', () => {
    expect(h.code(mk('/zookeeper/x/y', { parents: true }))).toBe('BadArguments');
    expect(h.tree.has('/zookeeper/x')).toBe(false);
  });
});

describe('/zookeeper is reserved', () => {
  it('no create, set or delete at or under it', () => {
    for (const op of [
      mk('/zookeeper/x'),
      mk('/zookeeper/quota/x'),
      mk('/zookeeper'),
      mk('/zookeeper/', { mode: 'persistent_sequential' }),
      set('/zookeeper', bytes('x')),
      set('/zookeeper/config', bytes('x')),
      del('/zookeeper'),
      del('/zookeeper/quota'),
      del('/zookeeper/config'),
      delTree('/zookeeper'),
      delTree('/zookeeper/quota'),
    ]) {
      const f = h.fail(op);
      expect(f.code).toBe('BadArguments');
      expect(f.message).toMatch(/reserved/);
    }
    expect(h.tree.nodeCount).toBe(4);
  });

  it('check and reads are allowed', () => {
    h.ok(check('/zookeeper'));
    h.ok(check('/zookeeper/quota', 0));
    expect(h.tree.get('/zookeeper/config')).toBeDefined();
  });

  it("names that merely start with 'zookeeper' are ordinary", () => {
    h.create('/zookeeperx');
    expect(h.create('/zookeeper', { mode: 'persistent_sequential' })).toBe('/zookeeper0000000001');
    h.create('/a');
    h.create('/a/zookeeper');
    h.ok(del('/zookeeperx'));
  });

  it('deleting / is BadArguments', () => {
    expect(h.fail(del('/'))).toMatchObject({ code: 'BadArguments', path: '/' });
    expect(h.fail(delTree('/'))).toMatchObject({ code: 'BadArguments', path: '/' });
    // setData on / is allowed, as in ZooKeeper.
    h.ok(set('/', bytes('root')));
  });
});

describe('set', () => {
  it('NoNode, then BadVersion; -1 is any version; only the exact version matches', () => {
    expect(h.code(set('/a', EMPTY))).toBe('NoNode');
    expect(h.code(set('/a', EMPTY, 5))).toBe('NoNode');
    h.create('/a');
    const f = h.fail(set('/a', EMPTY, 1));
    expect(f).toMatchObject({ code: 'BadVersion', path: '/a' });
    expect(f.message).toMatch(/version 1 .* current version 0/);
    h.ok(set('/a', EMPTY, 0));
    h.ok(set('/a', EMPTY, 1));
    h.ok(set('/a', EMPTY, -1));
    expect(h.stat('/a').version).toBe(3);
  });

  it.each([-2, 1.5, NaN, '1', null, Infinity, 2 ** 53])('version %p is BadArguments', (v) => {
    h.create('/a');
    expect(h.code(set('/a', EMPTY, v as number))).toBe('BadArguments');
  });

  it('a bad path is BadArguments', () => {
    expect(h.code(set('/a/', EMPTY))).toBe('BadArguments');
    expect(h.code(set('a', EMPTY))).toBe('BadArguments');
  });
});

describe('delete', () => {
  it('NoNode, then BadVersion before NotEmpty (observation 7), then NotEmpty', () => {
    expect(h.code(del('/a'))).toBe('NoNode');
    h.create('/a');
    h.create('/a/b');
    expect(h.code(del('/a', 3))).toBe('BadVersion');
    expect(h.fail(del('/a', 0))).toMatchObject({ code: 'NotEmpty', path: '/a' });
    expect(h.code(del('/a'))).toBe('NotEmpty');
    h.ok(del('/a/b', 0));
    h.ok(del('/a', 0));
    expect(h.tree.has('/a')).toBe(false);
  });

  it('versions and paths are validated', () => {
    h.create('/a');
    expect(h.code(del('/a', -3))).toBe('BadArguments');
    expect(h.code(del('/a/'))).toBe('BadArguments');
    expect(h.code(del('/a/.'))).toBe('BadArguments');
  });

  it('a deleted name may be created again, with fresh stats', () => {
    h.create('/a', { data: bytes('1') });
    h.ok(set('/a', bytes('2')));
    h.ok(del('/a'));
    h.create('/a');
    expect(h.stat('/a')).toMatchObject({ czxid: 4, version: 0, dataLength: 0 });
  });
});

describe('check', () => {
  it('NoNode, then BadVersion; -1 always passes; nothing changes', () => {
    expect(h.code(check('/a'))).toBe('NoNode');
    h.create('/a');
    const r = h.ok(check('/a', 0));
    expect(r).toEqual({ result: { op: 'check', path: '/a' }, events: [] });
    h.ok(check('/a', -1));
    expect(h.fail(check('/a', 1))).toMatchObject({ code: 'BadVersion', path: '/a' });
    expect(h.code(check('/a', -2))).toBe('BadArguments');
    expect(h.code(check('/a/', 0))).toBe('BadArguments');
    expect(h.stat('/a')).toMatchObject({ czxid: 2, mzxid: 2, version: 0 });
  });
});

describe('events', () => {
  it('create: NodeCreated(P), NodeChildrenChanged(parent)', () => {
    expect(h.ok(mk('/a')).events).toEqual([
      { type: 'NodeCreated', path: '/a' },
      { type: 'NodeChildrenChanged', path: '/' },
    ]);
    expect(h.ok(mk('/a/b')).events).toEqual([
      { type: 'NodeCreated', path: '/a/b' },
      { type: 'NodeChildrenChanged', path: '/a' },
    ]);
  });

  it('a sequential create reports the created name', () => {
    expect(h.ok(mk('/s-', { mode: 'persistent_sequential' })).events[0]).toEqual({ type: 'NodeCreated', path: '/s-0000000000' });
  });

  it('set: NodeDataChanged(P), even for identical bytes', () => {
    h.create('/a');
    expect(h.ok(set('/a', EMPTY)).events).toEqual([{ type: 'NodeDataChanged', path: '/a' }]);
  });

  it('delete: NodeDeleted(P), NodeChildrenChanged(parent)', () => {
    h.create('/a');
    expect(h.ok(del('/a')).events).toEqual([
      { type: 'NodeDeleted', path: '/a' },
      { type: 'NodeChildrenChanged', path: '/' },
    ]);
  });

  it('check and noop: none', () => {
    h.create('/a');
    expect(h.ok(check('/a')).events).toEqual([]);
    expect(h.ok({ op: 'noop' })).toEqual({ result: { op: 'noop' }, events: [] });
  });

  it('a multi: every sub-op in order', () => {
    h.create('/a');
    const r = h.ok(multi(mk('/b'), set('/a', EMPTY) as SubOp, check('/a') as SubOp, del('/b') as SubOp));
    expect(r.events).toEqual([
      { type: 'NodeCreated', path: '/b' },
      { type: 'NodeChildrenChanged', path: '/' },
      { type: 'NodeDataChanged', path: '/a' },
      { type: 'NodeDeleted', path: '/b' },
      { type: 'NodeChildrenChanged', path: '/' },
    ]);
  });

  it('failed ops: none', () => {
    expect(h.run(mk('/x/y'))).toEqual({ ok: false, failure: expect.objectContaining({ code: 'NoNode' }), events: [] });
    expect(h.run(multi(mk('/a'), mk('/a'))).events).toEqual([]);
  });
});

describe('multi (observation 11)', () => {
  it('success: one result per op, all at one zxid, later ops seeing earlier ones', () => {
    h.create('/s', { data: bytes('s') });
    h.create('/d');
    h.create('/c');
    const r = h.ok(
      multi(
        mk('/p', { data: bytes('parent') }),
        mk('/p/child'),
        set('/s', bytes('new'), 0) as SubOp,
        del('/d', 0) as SubOp,
        check('/c', 0) as SubOp,
        mk('/p/child/deeper', { mode: 'ephemeral', owner: OWNER }),
      ),
      777,
    ).result;
    expect(r.op).toBe('multi');
    if (r.op !== 'multi') return;
    expect(r.results.map((x) => [x.op, x.path])).toEqual([
      ['create', '/p'],
      ['create', '/p/child'],
      ['set', '/s'],
      ['delete', '/d'],
      ['check', '/c'],
      ['create', '/p/child/deeper'],
    ]);
    for (const p of ['/p', '/p/child', '/p/child/deeper']) expect(h.stat(p)).toMatchObject({ czxid: 4, ctime: 777 });
    expect(h.stat('/s')).toMatchObject({ mzxid: 4, mtime: 777, version: 1 });
    expect(h.tree.has('/d')).toBe(false);
    expect(h.tree.lastZxid).toBe(4);
  });

  it("each result's stat is the znode right after its own op", () => {
    const r = h.ok(multi(mk('/m'), set('/m', bytes('x')) as SubOp, mk('/m/c'))).result;
    if (r.op !== 'multi') throw new Error();
    const [c, s] = r.results;
    expect(c).toMatchObject({ op: 'create', stat: { version: 0, dataLength: 0, numChildren: 0, cversion: 0 } });
    expect(s).toMatchObject({ op: 'set', stat: { version: 1, dataLength: 1, numChildren: 0 } });
    expect(h.stat('/m')).toMatchObject({ version: 1, numChildren: 1, cversion: 1 });
  });

  it('several sequential creates get consecutive suffixes', () => {
    h.create('/q');
    h.create('/q/x');
    const r = h.ok(
      multi(
        mk('/q/j-', { mode: 'persistent_sequential' }),
        mk('/q/j-', { mode: 'ephemeral_sequential', owner: OWNER }),
        mk('/q/', { mode: 'persistent_sequential' }),
      ),
    ).result;
    if (r.op !== 'multi') throw new Error();
    expect(r.results.map((x) => x.path)).toEqual(['/q/j-0000000001', '/q/j-0000000002', '/q/0000000003']);
  });

  it('failure: Ok before, the code at the failing op, RuntimeInconsistency after; nothing changes', () => {
    h.create('/a', { data: bytes('a') });
    h.create('/q');
    h.create('/q/e', { mode: 'ephemeral', owner: OWNER });
    h.create('/c', { mode: 'container' });
    h.create('/c/x');
    const before = observe(h.tree);
    const digest = h.tree.digest();
    const counts = [h.tree.nodeCount, h.tree.dataBytes];
    const f = h.fail(
      multi(
        mk('/q/s-', { mode: 'persistent_sequential', data: bytes('zzz') }),
        mk('/new', { mode: 'ephemeral', owner: OWNER }),
        set('/a', bytes('changed')) as SubOp,
        del('/q/e') as SubOp,
        del('/c/x') as SubOp,
        mk('/q/s-', { mode: 'persistent_sequential' }),
        check('/a', 0) as SubOp, // version is 1 by now: fails
        mk('/later'),
        del('/a') as SubOp,
      ),
    );
    expect(f.code).toBe('BadVersion');
    expect(f.opIndex).toBe(6);
    expect(f.path).toBe('/a');
    expect(f.message).toMatch(/^op 6 \(check\)/);
    expect(f.results).toEqual([
      { op: 'create', code: 'Ok' },
      { op: 'create', code: 'Ok' },
      { op: 'set', code: 'Ok' },
      { op: 'delete', code: 'Ok' },
      { op: 'delete', code: 'Ok' },
      { op: 'create', code: 'Ok' },
      { op: 'check', code: 'BadVersion' },
      { op: 'create', code: 'RuntimeInconsistency' },
      { op: 'delete', code: 'RuntimeInconsistency' },
    ]);
    expect(observe(h.tree)).toEqual(before);
    expect(h.tree.digest()).toBe(digest);
    expect([h.tree.nodeCount, h.tree.dataBytes]).toEqual(counts);
    expect(h.tree.ephemeralsOf(OWNER)).toEqual(['/q/e']);
    expect(h.tree.containerCandidates()).toEqual([]);
    // The sequential counter of /q did not move either.
    expect(h.create('/q/s-', { mode: 'persistent_sequential' })).toBe('/q/s-0000000001');
  });

  it('a failing first op and a failing last op', () => {
    h.create('/a');
    expect(h.fail(multi(mk('/a'), mk('/b')))).toMatchObject({
      code: 'NodeExists',
      opIndex: 0,
      results: [
        { op: 'create', code: 'NodeExists' },
        { op: 'create', code: 'RuntimeInconsistency' },
      ],
    });
    expect(h.fail(multi(mk('/b'), del('/zzz') as SubOp))).toMatchObject({
      code: 'NoNode',
      opIndex: 1,
      path: '/zzz',
      results: [
        { op: 'create', code: 'Ok' },
        { op: 'delete', code: 'NoNode' },
      ],
    });
    expect(h.tree.has('/b')).toBe(false);
  });

  it('a sub-op with bad arguments fails at its index', () => {
    const f = h.fail(multi(mk('/a'), mk('/b', { mode: 'persistent_with_ttl', ttl: 0 })));
    expect(f).toMatchObject({ code: 'BadArguments', opIndex: 1 });
    expect(h.tree.has('/a')).toBe(false);
  });

  it('an empty multi succeeds with no results', () => {
    expect(h.ok(multi())).toEqual({ result: { op: 'multi', results: [] }, events: [] });
  });

  it('only create, set, delete and check may appear; anything else fails the whole multi', () => {
    for (const sub of [{ op: 'deleteTree', path: '/a', version: -1, maxNodes: 5 }, { op: 'multi', ops: [] }, { op: 'noop' }, null, 5, { op: 'get' }]) {
      const f = h.fail({ op: 'multi', ops: [mk('/x'), sub] } as unknown as Op);
      expect(f.code).toBe('BadArguments');
      expect(f.opIndex).toBeUndefined();
    }
    expect(h.code({ op: 'multi', ops: 'nope' } as unknown as Op)).toBe('BadArguments');
    expect(h.code({ op: 'multi' } as unknown as Op)).toBe('BadArguments');
    expect(h.tree.has('/x')).toBe(false);
  });

  it('creating then deleting a parent and child in one multi leaves only the counters behind', () => {
    h.create('/r');
    h.ok(multi(mk('/r/p'), mk('/r/p/c'), del('/r/p/c') as SubOp, del('/r/p') as SubOp));
    expect(h.stat('/r')).toMatchObject({ numChildren: 0, cversion: 2, pzxid: 2 });
    expect(h.tree.nodeCount).toBe(5);
  });
});

describe('deleteTree', () => {
  function build(): void {
    h.create('/t', { data: bytes('top') });
    h.create('/t/b');
    h.create('/t/a', { data: bytes('aa') });
    h.create('/t/a/y', { mode: 'ephemeral', owner: OWNER });
    h.create('/t/a/x', { mode: 'container' });
    h.create('/t/a/x/leaf', { mode: 'persistent_with_ttl', ttl: 5 });
    h.create('/keep');
  }

  it('deletes the subtree, children before parents in name order, each with its events', () => {
    build();
    const r = h.ok(delTree('/t'));
    expect(r.result).toEqual({ op: 'deleteTree', path: '/t', deleted: 6 });
    expect(r.events).toEqual([
      { type: 'NodeDeleted', path: '/t/a/x/leaf' },
      { type: 'NodeChildrenChanged', path: '/t/a/x' },
      { type: 'NodeDeleted', path: '/t/a/x' },
      { type: 'NodeChildrenChanged', path: '/t/a' },
      { type: 'NodeDeleted', path: '/t/a/y' },
      { type: 'NodeChildrenChanged', path: '/t/a' },
      { type: 'NodeDeleted', path: '/t/a' },
      { type: 'NodeChildrenChanged', path: '/t' },
      { type: 'NodeDeleted', path: '/t/b' },
      { type: 'NodeChildrenChanged', path: '/t' },
      { type: 'NodeDeleted', path: '/t' },
      { type: 'NodeChildrenChanged', path: '/' },
    ]);
    expect(h.tree.children('/')).toEqual(['keep', 'zookeeper']);
    expect(h.tree.nodeCount).toBe(5);
    expect(h.tree.dataBytes).toBe(0);
    expect(h.tree.ephemeralsOf(OWNER)).toEqual([]);
    expect(h.tree.containerCandidates()).toEqual([]);
    expect(h.tree.ttlCandidates(Number.MAX_SAFE_INTEGER)).toEqual([]);
    expect(h.stat('/')).toMatchObject({ pzxid: 8, numChildren: 2 });
  });

  it('a leaf', () => {
    h.create('/l');
    expect(h.ok(delTree('/l')).result).toEqual({ op: 'deleteTree', path: '/l', deleted: 1 });
  });

  it('the version applies to the top znode only', () => {
    build();
    h.ok(set('/t/a', bytes('v1')));
    expect(h.fail(delTree('/t', 1))).toMatchObject({ code: 'BadVersion', path: '/t' });
    expect(h.ok(delTree('/t', 0)).result).toMatchObject({ deleted: 6 });
  });

  it('over the bound: BadArguments naming the count and the bound, nothing deleted', () => {
    build();
    const digest = h.tree.digest();
    const f = h.fail(delTree('/t', -1, 5));
    expect(f.code).toBe('BadArguments');
    expect(f.message).toContain('6');
    expect(f.message).toContain('5');
    expect(h.tree.digest()).toBe(digest);
    expect(h.ok(delTree('/t', -1, 6)).result).toMatchObject({ deleted: 6 });
  });

  it('NoNode; bad version, bound and path are BadArguments', () => {
    expect(h.code(delTree('/nope'))).toBe('NoNode');
    h.create('/a');
    for (const op of [delTree('/a', -2), delTree('/a', -1, 0), delTree('/a', -1, 1.5), delTree('/a/')]) {
      expect(h.code(op)).toBe('BadArguments');
    }
  });

  it('a deep chain, beyond any recursion limit, is created, digested, snapshotted and deleted', () => {
    const depth = 20_000;
    const path = '/d' + '/x'.repeat(depth - 1);
    h.create(path, { parents: true });
    expect(h.tree.nodeCount).toBe(4 + depth);
    const restored = DataTree.restore(h.tree.snapshot());
    expect(restored.digest()).toBe(h.tree.digest());
    expect(h.ok(delTree('/d')).result).toMatchObject({ deleted: depth });
    expect(h.tree.nodeCount).toBe(4);
  });
});

describe('children', () => {
  it('are sorted by UTF-16 code units (JS default sort)', () => {
    h.create('/p');
    const names = ['b', 'a', 'B', 'é', '10', '9', 'a.b', '-', 'Z', '\u00a0', 'ab'];
    for (const n of names) h.create(`/p/${n}`);
    expect(h.tree.children('/p')).toEqual([...names].sort());
  });

  it('stay correct through many sequential creates and deletes from either end or the middle', () => {
    h.create('/q');
    const live: string[] = [];
    for (let i = 0; i < 300; i++) {
      live.push(baseOf(h.create('/q/n-', { mode: 'persistent_sequential' })));
      if (i % 7 === 0) expect(h.tree.children('/q')).toEqual(live);
      if (i % 5 === 4) {
        const victim = i % 3 === 0 ? live.shift()! : i % 3 === 1 ? live.pop()! : live.splice(live.length >> 1, 1)[0]!;
        h.ok(del(`/q/${victim}`));
        expect(h.tree.children('/q')).toEqual(live);
      }
    }
    h.create('/q/a-first');
    expect(h.tree.children('/q')).toEqual([...live, 'a-first'].sort());
  });

  it('a returned list is the caller’s own', () => {
    h.create('/p');
    h.create('/p/a');
    h.tree.children('/p')!.push('junk');
    expect(h.tree.children('/p')).toEqual(['a']);
  });
});

function baseOf(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

describe('apply bookkeeping', () => {
  it('lastZxid follows every apply: success, failure and noop', () => {
    h.create('/a');
    expect(h.tree.lastZxid).toBe(1);
    h.fail(mk('/a'));
    expect(h.tree.lastZxid).toBe(2);
    h.ok({ op: 'noop' });
    expect(h.tree.lastZxid).toBe(3);
  });

  it('a zxid that does not increase is a broken invariant', () => {
    h.create('/a');
    expect(() => h.tree.apply({ op: 'noop' }, 1, T0)).toThrow(AssertionFailure);
    expect(() => h.tree.apply({ op: 'noop' }, 0, T0)).toThrow(AssertionFailure);
    expect(() => h.tree.apply({ op: 'noop' }, 2.5, T0)).toThrow(AssertionFailure);
  });

  it('garbage never throws: it is BadArguments', () => {
    const garbage: unknown[] = [
      null,
      undefined,
      42,
      'create',
      [],
      {},
      { op: 'explode' },
      { op: 1n },
      { op: 'create' },
      { op: 'create', path: 5, data: EMPTY, mode: 'persistent' },
      { op: 'create', path: '/a', data: 'text', mode: 'persistent' },
      { op: 'create', path: '/a', data: [1, 2], mode: 'persistent' },
      { op: 'create', path: '/a', data: EMPTY, mode: 'persistent', parents: 'yes' },
      { op: 'create', path: '/a', data: EMPTY, mode: 'persistent_with_ttl', ttl: 10n },
      { op: 'create', path: '/a', data: EMPTY, mode: { x: 1 } },
      { op: 'set', path: '/a', data: null, version: -1 },
      { op: 'set', path: '/zookeeper', data: EMPTY, version: Symbol('v') },
      { op: 'delete', path: Object.create(null) as unknown, version: -1 },
      { op: 'delete', path: '/a', version: Object.create(null) as unknown },
      { op: 'check', path: ['/a'], version: -1 },
      { op: 'deleteTree', path: '/a', version: -1 },
      { op: 'deleteTree', path: '/a', version: -1, maxNodes: '10' },
    ];
    for (const g of garbage) {
      const r = h.run(g as Op);
      expect(r).toMatchObject({ ok: false, failure: { code: 'BadArguments' }, events: [] });
      expect(typeof (r as { failure: OpFailure }).failure.message).toBe('string');
    }
    expect(h.tree.nodeCount).toBe(4);
  });
});

describe('validateOp', () => {
  const opts = { maxDataBytes: 100 };
  const refused: [string, Op, string][] = [
    ['bad path on create', mk('/a/b\u0001'), 'BadArguments'],
    ['bad path on set', set('/a/', EMPTY), 'BadArguments'],
    ['bad path on delete', del('/a/..'), 'BadArguments'],
    ['bad path on check', check('a'), 'BadArguments'],
    ['trailing slash without sequential', mk('/a/'), 'BadArguments'],
    ['unknown mode', mk('/a', { mode: 'nope' as never }), 'BadArguments'],
    ['ttl 0', mk('/a', { mode: 'persistent_with_ttl', ttl: 0 }), 'BadArguments'],
    ['ttl 2^40', mk('/a', { mode: 'persistent_with_ttl', ttl: 2 ** 40 }), 'BadArguments'],
    ['ttl with a non-TTL mode (the 3.8.0 crash)', mk('/a', { mode: 'persistent', ttl: -1 }), 'BadArguments'],
    ['TTL mode without ttl', mk('/a', { mode: 'persistent_sequential_with_ttl' }), 'BadArguments'],
    ['ephemeral without owner', mk('/a', { mode: 'ephemeral' }), 'BadArguments'],
    ['version -2', set('/a', EMPTY, -2), 'BadArguments'],
    ['version 0.5', del('/a', 0.5), 'BadArguments'],
    ['too much data', mk('/a', { data: new Uint8Array(101) }), 'PayloadTooLarge'],
    ['write under /zookeeper', set('/zookeeper/quota', EMPTY), 'BadArguments'],
    ['parents under /zookeeper', mk('/zookeeper/a/b', { parents: true }), 'BadArguments'],
    ['delete /', del('/'), 'BadArguments'],
    ['deleteTree /', delTree('/'), 'BadArguments'],
    ['deleteTree bound 0', delTree('/a', -1, 0), 'BadArguments'],
    ['multi over the data limit', multi(mk('/a', { data: new Uint8Array(60) }), mk('/b', { data: new Uint8Array(60) })), 'PayloadTooLarge'],
    ['multi with a deleteTree', { op: 'multi', ops: [delTree('/a')] } as unknown as Op, 'BadArguments'],
    ['unknown op', { op: 'rename' } as unknown as Op, 'BadArguments'],
  ];

  it.each(refused)('refuses %s, and apply fails the same way', (_what, op, code) => {
    let thrown: unknown;
    try {
      DataTree.validateOp(op, opts);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ZgateError);
    expect((thrown as ZgateError).code).toBe(code);
    expect(DataTree.checkOp(op, opts)?.code).toBe(code);
    const tree = new Harness(new DataTree(opts));
    tree.create('/a');
    expect(tree.code(op)).toBe(code);
  });

  it('a refused sub-op of a multi throws a MultiOpError with opIndex and results', () => {
    let thrown: unknown;
    try {
      DataTree.validateOp(multi(mk('/a'), set('/b', EMPTY, -7) as SubOp, del('/c') as SubOp));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(MultiOpError);
    expect(thrown).toBeInstanceOf(ZgateError);
    const e = thrown as MultiOpError;
    expect(e.code).toBe('BadArguments');
    expect(e.opIndex).toBe(1);
    expect(e.path).toBe('/b');
    expect(e.results).toEqual([
      { op: 'create', code: 'Ok' },
      { op: 'set', code: 'BadArguments' },
      { op: 'delete', code: 'RuntimeInconsistency' },
    ]);
  });

  it.each(
    [
    mk('/a'),
    mk('/queue/', { mode: 'persistent_sequential' }),
    mk('/', { mode: 'persistent_sequential' }),
    mk('/zookeeper', { mode: 'persistent_sequential' }),
    mk('/e', { mode: 'ephemeral', owner: 1n }),
    mk('/t', { mode: 'persistent_with_ttl', ttl: 2 ** 40 - 1 }),
    mk('/x/y/z', { parents: true }),
    mk('/a', { data: new Uint8Array(1_048_576) }),
    set('/', EMPTY, 3),
    del('/a', 0),
    check('/zookeeper', -1),
    delTree('/a', -1, 1),
    multi(),
    multi(mk('/a'), check('/a') as SubOp),
    { op: 'noop' },
    ].map((op) => [JSON.stringify(op, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `<${v.length} bytes>` : v)), op as Op] as const),
  )('accepts %s', (_name, op) => {
    expect(() => DataTree.validateOp(op)).not.toThrow();
    expect(DataTree.checkOp(op)).toBeUndefined();
  });

  it('checks the full path where apply, as ZooKeeper, first reports the missing parent', () => {
    // Both refuse; the API validates first, so clients see BadArguments for a bad path.
    expect(() => DataTree.validateOp(mk('/x//b'))).toThrow(ZgateError);
    expect(() => DataTree.validateOp(mk('/queue/'))).toThrow(/end with/);
    expect(h.code(mk('/x//b'))).toBe('NoNode');
    expect(h.code(mk('/queue/'))).toBe('NoNode');
  });

  it('uses the default limit of 1 MiB', () => {
    expect(() => DataTree.validateOp(mk('/a', { data: new Uint8Array(1_048_577) }))).toThrow(/1048576/);
  });
});

describe('snapshot and restore', () => {
  function richTree(): Harness {
    const x = new Harness();
    x.create('/app', { data: bytes('config') });
    x.create('/app/q');
    for (let i = 0; i < 5; i++) x.create('/app/q/job-', { mode: 'persistent_sequential', data: new Uint8Array([i, 255 - i]) });
    x.ok(del('/app/q/job-0000000001'));
    x.create('/app/e', { mode: 'ephemeral', owner: OWNER, data: bytes('me') });
    x.create('/app/e2-', { mode: 'ephemeral_sequential', owner: 2n ** 64n - 1n });
    x.create('/app/neg', { mode: 'ephemeral', owner: -(2n ** 63n) });
    x.create('/c', { mode: 'container' });
    x.create('/c/x');
    x.ok(del('/c/x'));
    x.create('/c2', { mode: 'container' });
    x.create('/t', { mode: 'persistent_with_ttl', ttl: 2 ** 40 - 1 });
    x.create('/t2-', { mode: 'persistent_sequential_with_ttl', ttl: 3 });
    x.ok(set('/app', bytes('config v2'), 0));
    x.ok(set('/', bytes('root data')));
    x.create('/ünï/cödé', { parents: true, data: new Uint8Array(1000).fill(9) });
    x.ok({ op: 'noop' });
    return x;
  }

  it('round-trips everything: digest, every stat, data, children, indexes, lastZxid', () => {
    const x = richTree();
    const restored = DataTree.restore(x.tree.snapshot());
    expectSameTree(x.tree, restored);
    expect(restored.containerCandidates()).toEqual(['/c']);
    expect(restored.ephemeralsOf(2n ** 64n - 1n)).toEqual(['/app/e2-0000000002']);
  });

  it('the restored tree behaves exactly as the original from then on', () => {
    const x = richTree();
    const y = new Harness(DataTree.restore(x.tree.snapshot()));
    const ops: Op[] = [
      mk('/app/q/job-', { mode: 'persistent_sequential' }),
      del('/app/e'),
      set('/t', bytes('touch'), 0),
      multi(mk('/m'), mk('/m/', { mode: 'persistent_sequential' }), check('/c2', 1) as SubOp),
      delTree('/app'),
    ];
    for (const op of ops) expect(y.run(op)).toEqual(x.run(op));
    expectSameTree(x.tree, y.tree);
  });

  it('is deterministic: equal trees give equal bytes and digests, whatever the insertion order', () => {
    const a = new Harness();
    const b = new Harness();
    a.ok(multi(mk('/x'), mk('/y'), mk('/z')), 5);
    b.ok(multi(mk('/z'), mk('/y'), mk('/x')), 5);
    // Same tree, but the stored counters differ in nothing; only insertion order does.
    expect(b.tree.digest()).toBe(a.tree.digest());
    expect(b.tree.snapshot()).toEqual(a.tree.snapshot());
  });

  it('a multi rolled back leaves snapshot and digest byte-identical', () => {
    const x = richTree();
    const snap = x.tree.snapshot();
    const f = x.fail(multi(del('/app/q/job-0000000000') as SubOp, mk('/app/q/job-', { mode: 'persistent_sequential' }), set('/app', EMPTY, 0) as SubOp));
    expect(f.opIndex).toBe(2);
    const after = decode(x.tree.snapshot()) as Record<string, unknown>;
    const before = decode(snap) as Record<string, unknown>;
    expect({ ...after, lastZxid: 0 }).toEqual({ ...before, lastZxid: 0 });
  });

  it('the digest sees data, stats, kinds and shape', () => {
    const base = (): Harness => {
      const x = new Harness();
      x.create('/a', { data: bytes('1') }, 100);
      return x;
    };
    const ref = base().tree.digest();
    const variants: ((x: Harness) => void)[] = [
      (x) => x.ok(set('/a', bytes('2'))),
      (x) => x.create('/b'),
      (x) => x.ok({ op: 'noop' }) && x.create('/a/b') && x.ok(del('/a/b')),
    ];
    for (const v of variants) {
      const x = base();
      v(x);
      expect(x.tree.digest()).not.toBe(ref);
    }
    const otherTime = new Harness();
    otherTime.create('/a', { data: bytes('1') }, 101);
    expect(otherTime.tree.digest()).not.toBe(ref);
    const otherKind = new Harness();
    otherKind.create('/a', { data: bytes('1'), mode: 'container' }, 100);
    expect(otherKind.tree.digest()).not.toBe(ref);
    expect(base().tree.digest()).toBe(ref);
    expect(ref).toMatch(/^[0-9a-f]{16}$/);
  });

  it('the restored tree does not share memory with the snapshot bytes', () => {
    const x = richTree();
    const snap = x.tree.snapshot();
    const restored = DataTree.restore(snap);
    snap.fill(0);
    expectSameTree(x.tree, restored);
  });

  it('keeps the restore options', () => {
    const x = richTree();
    const small = new Harness(DataTree.restore(x.tree.snapshot(), { maxDataBytes: 2 }));
    expect(small.code(set('/app', bytes('123')))).toBe('PayloadTooLarge');
  });

  describe('a malformed snapshot throws DataInconsistency', () => {
    const good = (): Record<string, unknown> => decode(richTree().tree.snapshot()) as Record<string, unknown>;
    const expectBad = (b: Uint8Array): void => {
      let thrown: unknown;
      try {
        DataTree.restore(b);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(ZgateError);
      expect((thrown as ZgateError).code).toBe('DataInconsistency');
    };

    it('garbage bytes', () => {
      expectBad(new Uint8Array(0));
      expectBad(new Uint8Array([0xc1]));
      expectBad(bytes('hello world, this is not msgpack'));
      let seed = 12345;
      for (let n = 0; n < 50; n++) {
        const b = new Uint8Array(1 + (n * 37) % 300);
        for (let i = 0; i < b.length; i++) {
          seed = (seed * 1103515245 + 12345) % 2 ** 31;
          b[i] = seed & 0xff;
        }
        expectBad(b);
      }
      expectBad('text' as unknown as Uint8Array);
    });

    it('well-formed msgpack that is not a snapshot', () => {
      for (const v of [null, 42, 'x', [], {}, { format: 'zgate-datatree' }, { format: 'other', v: 1 }]) expectBad(encode(v));
      expectBad(encode({ ...good(), v: 3 }));
    });

    it('a truncated snapshot', () => {
      const b = richTree().tree.snapshot();
      for (const cut of [1, 10, b.length >> 1, b.length - 1]) expectBad(b.subarray(0, cut));
    });

    it('tampered fields', () => {
      const s = good();
      const names = s.names as string[];
      const ints = s.ints as Uint8Array;
      const setInt = (i: number, field: number, v: number): Uint8Array => {
        const c = new Uint8Array(ints);
        new DataView(c.buffer).setInt32((7 * i + field) * 4, v, true);
        return c;
      };
      const zxids = s.zxids as Uint8Array;
      const setZxid = (i: number, field: number, v: number): Uint8Array => {
        const c = new Uint8Array(zxids);
        new DataView(c.buffer).setFloat64((3 * i + field) * 8, v, true);
        return c;
      };
      const tampered: Record<string, unknown>[] = [
        { ...s, lastZxid: -1 },
        { ...s, lastZxid: 1.5 },
        { ...s, names: names.slice(0, -1) },
        { ...s, names: [...names.slice(0, 3), 'a/b', ...names.slice(4)] },
        { ...s, names: [...names.slice(0, 3), '..', ...names.slice(4)] },
        { ...s, names: ['x', ...names.slice(1)] },
        { ...s, names: names.map((n) => (n === 'neg' ? 'e' : n)) },
        { ...s, ints: ints.subarray(4) },
        { ...s, ints: setInt(0, 0, 99) },
        { ...s, ints: setInt(0, 0, 0) },
        { ...s, ints: setInt(1, 3, 7) },
        { ...s, ints: setInt(1, 4, 5000) },
        { ...s, ints: setInt(1, 4, -1) },
        { ...s, zxids: setZxid(1, 0, 1e9) },
        { ...s, zxids: setZxid(1, 1, 0.5) },
        { ...s, zxids: setZxid(2, 2, -1) },
        { ...s, times: (s.times as Uint8Array).subarray(8) },
        { ...s, owners: [] },
        { ...s, owners: [...(s.owners as bigint[]), 5n] },
        { ...s, owners: (s.owners as bigint[]).map(() => 0n) },
        { ...s, ttls: (s.ttls as number[]).map(() => 0) },
        { ...s, data: (s.data as Uint8Array).subarray(1) },
        { ...s, data: new Uint8Array([...(s.data as Uint8Array), 1]) },
        { ...s, data: 'x' },
      ];
      for (const t of tampered) expectBad(encode(t));
    });

    it('a snapshot without /zookeeper', () => {
      const t = new Harness();
      const s = decode(t.tree.snapshot()) as Record<string, unknown>;
      // Only the root, with no children.
      const ints = new Uint8Array(7 * 4);
      const zxids = new Uint8Array(3 * 8);
      const times = new Uint8Array(2 * 8);
      expectBad(encode({ ...s, names: [''], ints, zxids, times, data: new Uint8Array(0) }));
    });

    it('an ephemeral with children', () => {
      const t = new Harness();
      t.create('/e', { mode: 'ephemeral', owner: 3n });
      const s = decode(t.tree.snapshot()) as Record<string, unknown>;
      // Graft a child under /e: /e is node 1 (pre-order: '', 'e', 'zookeeper', ...).
      const names = s.names as string[];
      expect(names.slice(0, 2)).toEqual(['', 'e']);
      const n = names.length;
      const ints = new Uint8Array((n + 1) * 7 * 4);
      ints.set((s.ints as Uint8Array).subarray(0, 2 * 28), 0);
      ints.set((s.ints as Uint8Array).subarray(2 * 28), 3 * 28);
      new DataView(ints.buffer).setInt32(1 * 28, 1, true);
      const grow = (b: Uint8Array, w: number): Uint8Array => {
        const c = new Uint8Array((n + 1) * w);
        c.set(b.subarray(0, 2 * w), 0);
        c.set(b.subarray(2 * w), 3 * w);
        return c;
      };
      expectBad(
        encode({
          ...s,
          names: ['', 'e', 'child', ...names.slice(2)],
          ints,
          zxids: grow(s.zxids as Uint8Array, 24),
          times: grow(s.times as Uint8Array, 16),
        }),
      );
    });
  });
});

describe('precheck (what the member refuses before the log)', () => {
  it('a multi with a bad argument answers the first failure in op order, as ZooKeeper', () => {
    const t = new DataTree();
    const bad: Op = {
      op: 'multi',
      ops: [
        { op: 'set', path: '/missing', data: new Uint8Array(0), version: -1 },
        { op: 'create', path: '/t', data: new Uint8Array(0), mode: 'persistent_with_ttl', ttl: 0 },
      ],
    };
    const f = t.precheck(bad)!;
    expect(f).toMatchObject({ code: 'NoNode', opIndex: 0, path: '/missing' });
    expect(f.results).toEqual([
      { op: 'set', code: 'NoNode' },
      { op: 'create', code: 'RuntimeInconsistency' },
    ]);
  });

  it('earlier ops that would succeed are rolled back; the bad argument is reported', () => {
    const t = new DataTree();
    const digest = t.digest();
    const f = t.precheck({
      op: 'multi',
      ops: [
        { op: 'create', path: '/a', data: new Uint8Array([1]), mode: 'persistent' },
        { op: 'create', path: '/a/b', data: new Uint8Array(0), mode: 'persistent' },
        { op: 'create', path: '/bad//x', data: new Uint8Array(0), mode: 'persistent' },
      ],
    })!;
    expect(f).toMatchObject({ code: 'BadArguments', opIndex: 2 });
    expect(f.results!.map((r) => r.code)).toEqual(['Ok', 'Ok', 'BadArguments']);
    expect(t.digest()).toBe(digest);
    expect(t.has('/a')).toBe(false);
    expect(t.nodeCount).toBe(4);
  });

  it('a valid op passes precheck untouched', () => {
    const t = new DataTree();
    expect(t.precheck({ op: 'create', path: '/a', data: new Uint8Array(0), mode: 'persistent' })).toBeUndefined();
    expect(t.has('/a')).toBe(false);
  });
});
