/**
 * Incremental copy-on-write snapshots: a writer begun at zxid Z and stepped while further ops
 * apply must give exactly the bytes snapshot() gives on a tree that applied the ops up to Z only.
 */
import fc from 'fast-check';
import type { CreateMode, Op, SubOp } from '../../src/core/types.js';
import { AssertionFailure } from '../../src/util/assert.js';
import { decode } from '../../src/util/codec.js';
import { DataTree, type SnapshotTuning } from '../../src/tree/datatree.js';

const T0 = 1_700_000_000_000;

/** A tree driven at zxids 1, 2, 3..., its ops recorded, its live paths tracked from the events (not by reading it, which would fill the sorted caches). */
class Driver {
  zxid = 0;
  readonly ops: Op[] = [];
  readonly paths = new Set<string>(['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']);
  constructor(readonly tree = new DataTree()) {}

  apply(op: Op): boolean {
    this.zxid++;
    this.ops.push(op);
    const r = this.tree.apply(op, this.zxid, T0 + this.zxid);
    for (const e of r.events) {
      if (e.type === 'NodeCreated') this.paths.add(e.path);
      if (e.type === 'NodeDeleted') this.paths.delete(e.path);
    }
    return r.ok;
  }

  sorted(): string[] {
    return [...this.paths].sort();
  }
}

/** A fresh tree that applied `ops` at zxids 1.. — the state a snapshot at ops.length must hold. */
function replay(ops: Op[]): DataTree {
  const tree = new DataTree();
  ops.forEach((op, i) => tree.apply(op, i + 1, T0 + i + 1));
  return tree;
}

function expectSameBytes(got: Uint8Array, want: Uint8Array): void {
  expect(got.length).toBe(want.length);
  expect(Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.byteLength), Buffer.from(want.buffer, want.byteOffset, want.byteLength))).toBe(0);
}

/** Everything the snapshot must match, and its restore. */
function expectSnapshotOf(bytes: Uint8Array, ref: DataTree): void {
  expectSameBytes(bytes, ref.snapshot());
  const restored = DataTree.restore(bytes);
  expect(restored.digest()).toBe(ref.digest());
  expect(restored.lastZxid).toBe(ref.lastZxid);
  expect(restored.nodeCount).toBe(ref.nodeCount);
  expect(restored.dataBytes).toBe(ref.dataBytes);
  expect(restored.ephemeralOwners()).toEqual(ref.ephemeralOwners());
  for (const o of ref.ephemeralOwners()) expect(restored.ephemeralsOf(o)).toEqual(ref.ephemeralsOf(o));
  expect(restored.containerCandidates()).toEqual(ref.containerCandidates());
  expect(restored.ttlCandidates(T0 * 2)).toEqual(ref.ttlCandidates(T0 * 2));
}

// ------------------------------------------------------------------ random ops

const NAMES = ['a', 'b', 'c', 'd', 'e', 'ü', 'x-', 'a-long-name-that-needs-more-than-thirty-two-bytes'];
const MODES: CreateMode[] = ['persistent', 'persistent', 'persistent', 'persistent_sequential', 'ephemeral', 'ephemeral_sequential', 'container', 'persistent_with_ttl'];
const OWNERS = [1n, 2n, 2n ** 64n - 1n, -(2n ** 63n)];

type Pick = number;
type AVer = 'any' | 'right' | 'wrong';
type ASub =
  | { k: 'create'; parent: Pick; name: number; mode: number; owner: number; data: Uint8Array; deep: boolean }
  | { k: 'set'; path: Pick; data: Uint8Array; version: AVer }
  | { k: 'delete'; path: Pick; version: AVer }
  | { k: 'check'; path: Pick; version: AVer };
type AOp =
  | ASub
  | { k: 'deleteTree'; path: Pick; maxNodes: number }
  | { k: 'multi'; ops: ASub[]; fail: boolean }
  /** Delete a node and create one at the same path in a multi (ZooKeeper's replace): NotEmpty rolls it back. */
  | { k: 'replace'; path: Pick; mode: number; data: Uint8Array };
/** What happens between a writer's begin and finish: an op, a step, a read that fills a sorted cache, a precheck that mutates and rolls back. */
type Action = { a: 'op'; op: AOp } | { a: 'step'; budget: number } | { a: 'read'; path: Pick } | { a: 'precheck'; op: AOp } | { a: 'sync' };

const dataArb = fc.oneof({ weight: 6, arbitrary: fc.uint8Array({ maxLength: 6 }) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 65, maxLength: 90 }) });
const verArb = fc.constantFrom<AVer>('any', 'any', 'right', 'wrong');
const aSub: fc.Arbitrary<ASub> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant('create' as const),
      parent: fc.nat(),
      name: fc.nat(NAMES.length - 1),
      mode: fc.nat(MODES.length - 1),
      owner: fc.nat(OWNERS.length - 1),
      data: dataArb,
      deep: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('set' as const), path: fc.nat(), data: dataArb, version: verArb }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('delete' as const), path: fc.nat(), version: verArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('check' as const), path: fc.nat(), version: verArb }) },
);
const aOp: fc.Arbitrary<AOp> = fc.oneof(
  { weight: 8, arbitrary: aSub },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('deleteTree' as const), path: fc.nat(), maxNodes: fc.constantFrom(1, 3, 1000) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('multi' as const), ops: fc.array(aSub, { minLength: 1, maxLength: 4 }), fail: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('replace' as const), path: fc.nat(), mode: fc.nat(MODES.length - 1), data: dataArb }) },
);
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 8, arbitrary: aOp.map((op): Action => ({ a: 'op', op })) },
  { weight: 5, arbitrary: fc.integer({ min: 1, max: 4 }).map((budget): Action => ({ a: 'step', budget })) },
  { weight: 1, arbitrary: fc.nat().map((path): Action => ({ a: 'read', path })) },
  { weight: 1, arbitrary: aOp.map((op): Action => ({ a: 'precheck', op })) },
  { weight: 1, arbitrary: fc.constant<Action>({ a: 'sync' }) },
);
const tuningArb: fc.Arbitrary<Partial<SnapshotTuning>> = fc.record({
  smallDir: fc.constantFrom(0, 1, 2, 4, 4096),
  sortRun: fc.constantFrom(1, 2, 3, 2048),
  nameBytesPerNode: fc.constantFrom(0, 1, 3, 100),
});

function resolveSub(d: Driver, s: ASub): SubOp {
  const paths = d.sorted();
  const at = (i: number): string => paths[i % paths.length]!;
  const version = (path: string, v: AVer): number => (v === 'any' ? -1 : (d.tree.stat(path)?.version ?? 0) + (v === 'wrong' ? 1 : 0));
  switch (s.k) {
    case 'create': {
      const parent = at(s.parent);
      const base = parent === '/' ? '' : parent;
      const path = s.deep ? `${base}/${NAMES[s.name]}/${NAMES[(s.name + 1) % NAMES.length]}` : `${base}/${NAMES[s.name]}`;
      const mode = MODES[s.mode]!;
      const op: SubOp = { op: 'create', path, data: s.data, mode };
      if (mode.startsWith('ephemeral')) op.owner = OWNERS[s.owner]!;
      if (mode.endsWith('_with_ttl')) op.ttl = s.owner === 0 ? 2 ** 40 - 1 : 100 + s.owner;
      if (s.deep) op.parents = true;
      return op;
    }
    case 'set': {
      const path = at(s.path);
      return { op: 'set', path, data: s.data, version: version(path, s.version) };
    }
    case 'delete': {
      const path = at(s.path);
      return { op: 'delete', path, version: version(path, s.version) };
    }
    case 'check': {
      const path = at(s.path);
      return { op: 'check', path, version: version(path, s.version) };
    }
  }
}

function resolve(d: Driver, a: AOp): Op {
  switch (a.k) {
    case 'deleteTree': {
      const path = d.sorted()[a.path % d.paths.size]!;
      return { op: 'deleteTree', path, version: -1, maxNodes: a.maxNodes };
    }
    case 'replace': {
      const path = d.sorted()[a.path % d.paths.size]!;
      const mode = MODES[a.mode]!.replace('_sequential', '') as CreateMode;
      const create: SubOp = { op: 'create', path, data: a.data, mode };
      if (mode === 'ephemeral') create.owner = 1n;
      if (mode === 'persistent_with_ttl') create.ttl = 500;
      return { op: 'multi', ops: [{ op: 'delete', path, version: -1 }, create] };
    }
    case 'multi': {
      const ops = a.ops.map((s) => resolveSub(d, s));
      // A failing last op rolls back whatever the others did.
      if (a.fail) ops.push({ op: 'check', path: '/no/such/node', version: -1 });
      return { op: 'multi', ops };
    }
    default:
      return resolveSub(d, a);
  }
}

// A fixed seed by default: the test also asserts that the interesting cases were reached, and
// with a random seed that count wanders (48 against a bound of 50 once in CI). SNAPSHOT_SEED=N
// (and SNAPSHOT_RUNS) explore other schedules.
const ARBITRARY_SEEDS = { numRuns: Number(process.env.SNAPSHOT_RUNS ?? 300), seed: Number(process.env.SNAPSHOT_SEED ?? 20261126) };

describe('incremental copy-on-write snapshots', () => {
  it('hold exactly the tree at Z, whatever applies while they are written (property)', () => {
    const seen = { spilled: 0, finishedEarly: 0, mutatedDuring: 0 };
    fc.assert(
      fc.property(
        fc.array(aOp, { minLength: 0, maxLength: 40 }),
        fc.array(action, { minLength: 0, maxLength: 60 }),
        tuningArb,
        fc.boolean(),
        (before, during, tuning, readFirst) => {
          const d = new Driver();
          for (const a of before) d.apply(resolve(d, a));
          if (readFirst) for (const p of d.sorted()) d.tree.children(p);
          const Z = d.zxid;
          const w = d.tree.beginSnapshot(tuning);
          expect(w.zxid).toBe(Z);
          expect(d.tree.snapshotInProgress).toBe(true);
          let done = false;
          for (const act of during) {
            switch (act.a) {
              case 'op':
                d.apply(resolve(d, act.op));
                break;
              case 'step':
                if (!done) done = !w.step(act.budget);
                if (done) expect(d.tree.snapshotInProgress).toBe(false);
                break;
              case 'read':
                d.tree.children(d.sorted()[act.path % d.paths.size]!);
                break;
              case 'precheck':
                d.tree.precheck(resolve(d, act.op));
                break;
              case 'sync': {
                // A synchronous snapshot meanwhile is of the tree as it is now.
                const restored = DataTree.restore(d.tree.snapshot());
                expect(restored.digest()).toBe(d.tree.digest());
                break;
              }
            }
          }
          if (done) seen.finishedEarly++;
          if (w.saved > 0) seen.mutatedDuring++;
          const bytes = w.finish();
          expect(d.tree.snapshotInProgress).toBe(false);
          expect(w.written).toBe(w.nodes);
          const ref = replay(d.ops.slice(0, Z));
          expectSnapshotOf(bytes, ref);
          if (tuning.nameBytesPerNode === 0) seen.spilled++;
          // The live tree came through unharmed: the same as a tree that applied everything.
          const all = replay(d.ops);
          expectSameBytes(d.tree.snapshot(), all.snapshot());
          expect(d.tree.nodeCount).toBe(all.nodeCount);
          expect(d.tree.dataBytes).toBe(all.dataBytes);
        },
      ),
      ARBITRARY_SEEDS,
    );
    // The interesting cases were all reached.
    expect(seen.finishedEarly).toBeGreaterThan(10);
    expect(seen.mutatedDuring).toBeGreaterThan(50);
    expect(seen.spilled).toBeGreaterThan(10);
  });

  it('abort leaves no trace: later applies are unaffected and a new snapshot works', () => {
    fc.assert(
      fc.property(fc.array(aOp, { maxLength: 30 }), fc.array(action, { maxLength: 40 }), fc.array(aOp, { maxLength: 20 }), tuningArb, (before, during, after, tuning) => {
        const d = new Driver();
        for (const a of before) d.apply(resolve(d, a));
        const w = d.tree.beginSnapshot(tuning);
        let done = false;
        for (const act of during) {
          if (act.a === 'op') d.apply(resolve(d, act.op));
          else if (act.a === 'step' && !done) done = !w.step(act.budget);
        }
        w.abort();
        w.abort();
        expect(d.tree.snapshotInProgress).toBe(false);
        expect(w.saved).toBe(0);
        expect(() => w.step(1)).toThrow(AssertionFailure);
        expect(() => w.finish()).toThrow(AssertionFailure);
        for (const a of after) d.apply(resolve(d, a));
        const all = replay(d.ops);
        expectSameBytes(d.tree.snapshot(), all.snapshot());
        // A new writer, with more writes during it.
        const Z = d.zxid;
        const again = d.tree.beginSnapshot(tuning);
        for (const a of before.slice(0, 10)) {
          again.step(2);
          d.apply(resolve(d, a));
        }
        expectSnapshotOf(again.finish(), replay(d.ops.slice(0, Z)));
      }),
      { numRuns: 150 },
    );
  });
});

describe('incremental snapshot cases', () => {
  const mk = (path: string, data: Uint8Array = new Uint8Array(0), mode: CreateMode = 'persistent'): Op => ({ op: 'create', path, data, mode });
  const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

  /** Builds, begins at Z, runs `during` between single-node steps, and checks the result against a replay. */
  function scenario(build: (d: Driver) => void, during: (d: Driver, step: () => void) => void, tuning: Partial<SnapshotTuning> = {}): Driver {
    const d = new Driver();
    build(d);
    const Z = d.zxid;
    const w = d.tree.beginSnapshot(tuning);
    during(d, () => void w.step(1));
    expectSnapshotOf(w.finish(), replay(d.ops.slice(0, Z)));
    return d;
  }

  it('a node deleted and re-created under the same name before the walk reaches it', () => {
    scenario(
      (d) => {
        d.apply(mk('/a', bytes('old')));
        d.apply(mk('/a/x', bytes('child')));
        d.apply(mk('/b'));
      },
      (d) => {
        d.apply({ op: 'deleteTree', path: '/a', version: -1, maxNodes: 10 });
        d.apply(mk('/a', bytes('new')));
        d.apply(mk('/a/y'));
        d.apply({ op: 'set', path: '/b', data: bytes('b2'), version: -1 });
      },
    );
  });

  it('sequential creates and queue consumption in a directory whose cached order the walk holds', () => {
    scenario(
      (d) => {
        d.apply(mk('/q'));
        for (let i = 0; i < 20; i++) d.apply(mk('/q/job-', bytes(`j${i}`), 'persistent_sequential'));
        d.tree.children('/q');
      },
      (d, step) => {
        for (let i = 0; i < 8; i++) step(); // into /q
        for (let i = 0; i < 10; i++) {
          d.apply(mk('/q/job-', bytes('late'), 'persistent_sequential'));
          d.apply({ op: 'delete', path: `/q/job-${String(i).padStart(10, '0')}`, version: -1 });
          d.apply({ op: 'delete', path: `/q/job-${String(19 - i).padStart(10, '0')}`, version: -1 });
          step();
        }
      },
    );
  });

  it('a large directory sorted across steps while it changes', () => {
    const names = Array.from({ length: 300 }, (_, i) => `n${(i * 7919) % 1000}`);
    scenario(
      (d) => {
        d.apply(mk('/big'));
        for (const n of names) d.apply(mk(`/big/${n}`, bytes(n)));
      },
      (d, step) => {
        for (let i = 0; i < 300; i++) {
          step();
          const n = names[(i * 13) % names.length]!;
          if (i % 3 === 0) d.apply({ op: 'delete', path: `/big/${n}`, version: -1 });
          else if (i % 3 === 1) d.apply(mk(`/big/${n}`, bytes('again')));
          else d.apply({ op: 'multi', ops: [{ op: 'delete', path: `/big/${n}`, version: -1 }, { op: 'check', path: '/nope', version: -1 }] });
          if (i % 50 === 0) d.apply({ op: 'set', path: '/big', data: bytes(`v${i}`), version: -1 });
        }
      },
      { smallDir: 16, sortRun: 8 },
    );
  });

  it('non-ASCII and long names, past the names reserve', () => {
    const long = 'x'.repeat(300);
    scenario(
      (d) => {
        // fixstr, str8, str16 and str32 names, 1 to 3 UTF-8 bytes a character.
        for (const n of ['é', 'ü-ß', '中文', long, 'y'.repeat(40), 'z'.repeat(70_000)]) expect(d.apply(mk(`/${n}`, bytes(n)))).toBe(true);
      },
      (d, step) => {
        step();
        d.apply({ op: 'delete', path: `/${long}`, version: -1 });
        d.apply(mk('/ñ'));
      },
      { nameBytesPerNode: 1 },
    );
  });

  it('zxids beyond 32 bits, every owner and ttl width', () => {
    const d = new Driver();
    const at = 2 ** 40;
    const ops: Op[] = [
      mk('/e'),
      { op: 'create', path: '/e/max', data: new Uint8Array(0), mode: 'ephemeral', owner: 2n ** 64n - 1n },
      { op: 'create', path: '/e/min', data: new Uint8Array(0), mode: 'ephemeral', owner: -(2n ** 63n) },
      { op: 'create', path: '/e/one', data: new Uint8Array(0), mode: 'ephemeral', owner: 1n },
      { op: 'create', path: '/t1', data: new Uint8Array(0), mode: 'persistent_with_ttl', ttl: 1 },
      { op: 'create', path: '/t2', data: new Uint8Array(0), mode: 'persistent_with_ttl', ttl: 300 },
      { op: 'create', path: '/t3', data: new Uint8Array(0), mode: 'persistent_with_ttl', ttl: 70_000 },
      { op: 'create', path: '/t4', data: new Uint8Array(0), mode: 'persistent_with_ttl', ttl: 2 ** 40 - 1 },
    ];
    ops.forEach((op, i) => d.tree.apply(op, at + i, T0));
    const w = d.tree.beginSnapshot();
    w.step(3);
    d.tree.apply({ op: 'delete', path: '/e/max', version: -1 }, at + 100, T0);
    d.tree.apply({ op: 'set', path: '/t4', data: bytes('x'), version: -1 }, at + 101, T0);
    const snap = w.finish();
    const ref = new DataTree();
    ops.forEach((op, i) => ref.apply(op, at + i, T0));
    expectSnapshotOf(snap, ref);
    const decoded = decode(snap) as Record<string, unknown>;
    expect(decoded.lastZxid).toBe(at + ops.length - 1);
    expect(decoded.owners).toEqual([2n ** 64n - 1n, -(2n ** 63n), 1n]);
    expect(decoded.ttls).toEqual([1, 300, 70_000, 2 ** 40 - 1]);
  });

  it('every msgpack header width: 16+ owners and ttls, 64 Ki+ znodes (array32), a directory sorted across steps while it changes', () => {
    const d = new Driver();
    d.apply(mk('/big'));
    for (let i = 0; i < 20; i++) {
      d.apply({ op: 'create', path: `/e${i}`, data: new Uint8Array(0), mode: 'ephemeral', owner: BigInt(i + 1) });
      d.apply({ op: 'create', path: `/t${i}`, data: new Uint8Array(0), mode: 'persistent_with_ttl', ttl: 1000 + i });
    }
    const big: Op[] = [];
    for (let i = 0; i < 66_000; i++) big.push(mk(`/big/n${i}`, bytes(`${i}`)) as SubOp as Op);
    for (let i = 0; i < big.length; i += 1000) d.apply({ op: 'multi', ops: big.slice(i, i + 1000) as SubOp[] });
    const Z = d.zxid;
    const w = d.tree.beginSnapshot();
    let i = 0;
    while (w.step(3000)) {
      d.apply({ op: 'delete', path: `/big/n${(i * 7919) % 66_000}`, version: -1 });
      d.apply(mk(`/big/m${i}`));
      d.apply({ op: 'delete', path: `/e${i % 20}`, version: -1 });
      i++;
    }
    expect(i).toBeGreaterThan(20);
    const bytesAtZ = w.finish();
    expectSnapshotOf(bytesAtZ, replay(d.ops.slice(0, Z)));
    const decoded = decode(bytesAtZ) as { names: string[]; owners: bigint[]; ttls: number[] };
    expect(decoded.names).toHaveLength(66_045);
    expect(decoded.owners).toHaveLength(20);
    expect(decoded.ttls).toHaveLength(20);
  });

  it('keeps the canonical bytes: equal trees, equal bytes, whatever the insertion order', () => {
    const a = new Driver();
    const b = new Driver();
    a.apply({ op: 'multi', ops: [mk('/x') as SubOp, mk('/y') as SubOp, mk('/z') as SubOp] });
    b.apply({ op: 'multi', ops: [mk('/z') as SubOp, mk('/y') as SubOp, mk('/x') as SubOp] });
    const wa = a.tree.beginSnapshot();
    const wb = b.tree.beginSnapshot({ smallDir: 0, sortRun: 1 });
    expectSameBytes(wa.finish(), wb.finish());
  });

  it('a prefix goes in front of the bytes, in the same buffer, on both paths', () => {
    const prefix = new Uint8Array([0x5a, 0x47, 1, 2, 3]);
    for (const reserve of [0, 100]) {
      const d = new Driver();
      for (let i = 0; i < 30; i++) d.apply(mk(`/n${i}`, bytes(`v${i}`)));
      const plain = d.tree.snapshot();
      const w = d.tree.beginSnapshot({ prefix, nameBytesPerNode: reserve });
      d.apply(mk('/later'));
      const framed = w.finish();
      expectSameBytes(framed.subarray(0, prefix.length), prefix);
      expectSameBytes(framed.subarray(prefix.length), plain);
      d.apply({ op: 'delete', path: '/later', version: -1 });
      expectSameBytes(d.tree.snapshot(prefix).subarray(prefix.length), d.tree.snapshot());
    }
  });

  it('one writer at a time; snapshot() meanwhile is of the tree as it is', () => {
    const d = new Driver();
    d.apply(mk('/a'));
    const w = d.tree.beginSnapshot();
    expect(() => d.tree.beginSnapshot()).toThrow(AssertionFailure);
    d.apply(mk('/b'));
    const now = DataTree.restore(d.tree.snapshot());
    expect(now.has('/b')).toBe(true);
    const then = DataTree.restore(w.finish());
    expect(then.has('/b')).toBe(false);
    expect(then.lastZxid).toBe(1);
    // finished: a new writer may begin
    d.tree.beginSnapshot().abort();
  });

  it('stops copying on write once the walk is over, before finish()', () => {
    const d = new Driver();
    for (let i = 0; i < 10; i++) d.apply(mk(`/n${i}`));
    const w = d.tree.beginSnapshot();
    while (w.step(3));
    expect(d.tree.snapshotInProgress).toBe(false);
    const Z = d.zxid;
    d.apply({ op: 'set', path: '/n1', data: bytes('later'), version: -1 });
    d.apply({ op: 'delete', path: '/n2', version: -1 });
    expect(w.saved).toBe(0);
    expectSnapshotOf(w.finish(), replay(d.ops.slice(0, Z)));
  });

  it('steps are bounded: a budget of k writes about k znodes', () => {
    const d = new Driver();
    for (let i = 0; i < 1000; i++) d.apply(mk(`/n${String(i).padStart(4, '0')}`, bytes('v')));
    d.tree.children('/');
    const w = d.tree.beginSnapshot();
    let steps = 0;
    let last = 0;
    while (w.step(100)) {
      steps++;
      expect(w.written - last).toBeLessThanOrEqual(100);
      last = w.written;
    }
    expect(steps).toBeGreaterThanOrEqual(9);
    expect(w.written).toBe(1004);
  });
});
