/**
 * The checkers on hand-made histories: known non-linearizable ones (stale read, lost update,
 * a read seeing a value before its write began...) must be rejected, valid ones accepted,
 * indeterminate operations handled as "maybe", budgets give unknown (never ok).
 */
import {
  checkFailedInvisible,
  checkLinearizability,
  checkLinearizable,
  checkLocalReads,
  checkLostWrites,
  checkMultiAtomic,
  checkPartitioned,
  checkReplicas,
  checkSessionOrder,
  checkWatches,
  checkZxidsUnique,
  resolveSequential,
  checkSessions,
  type SessionRecord,
  sequenceModel,
  znodeModel,
  type HistoryOp,
  type NodeDump,
  type Operation,
  type SeqInput,
  type SeqOutput,
  type TreeDump,
  type WatcherLog,
  type ZInput,
  type ZOutput,
} from '../../tools/checker/index.js';

type ZOp = Operation<ZInput, ZOutput>;
let nextId = 1;
const INF = Infinity;

function op(client: number, call: number, ret: number, input: ZInput, output: ZOutput): ZOp {
  return { id: nextId++, client, input, output, call, ret };
}
const P = '/r';
const get = (c: number, t0: number, t1: number, data?: string, version?: number): ZOp =>
  op(c, t0, t1, { f: 'get', path: P }, data === undefined ? { t: 'err', code: 'NoNode' } : { t: 'ok', data, ...(version !== undefined ? { version } : {}) });
const create = (c: number, t0: number, t1: number, data: string, out: ZOutput = { t: 'ok', version: 0 }): ZOp => op(c, t0, t1, { f: 'create', path: P, data }, out);
const set = (c: number, t0: number, t1: number, data: string, version: number, out: ZOutput): ZOp => op(c, t0, t1, { f: 'set', path: P, data, version }, out);
const unknown: ZOutput = { t: 'unknown' };

const verdict = (ops: ZOp[]): string => checkLinearizable(znodeModel, ops).verdict;

describe('WGL with the znode model', () => {
  test('a sequential history is linearizable, with a witness in real-time order', () => {
    const h = [create(1, 0, 1, 'a'), get(2, 2, 3, 'a', 0), set(1, 4, 5, 'b', 0, { t: 'ok', version: 1 }), get(2, 6, 7, 'b', 1)];
    const r = checkLinearizable(znodeModel, h);
    expect(r.verdict).toBe('ok');
    expect(r.witness).toEqual(h.map((o) => o.id));
  });

  test('a stale read is rejected', () => {
    const h = [create(1, 0, 1, 'a'), set(1, 2, 3, 'b', -1, { t: 'ok', version: 1 }), get(2, 4, 5, 'a', 0)];
    const r = checkLinearizable(znodeModel, h);
    expect(r.verdict).toBe('illegal');
    expect(r.stuckAt).toBe(h[2]!.id);
  });

  test('a lost update (two CAS from the same version both succeed) is rejected', () => {
    const h = [create(1, 0, 1, 'a'), set(1, 2, 10, 'b', 0, { t: 'ok', version: 1 }), set(2, 3, 9, 'c', 0, { t: 'ok', version: 1 })];
    expect(verdict(h)).toBe('illegal');
  });

  test('a lost update seen by a later read is rejected', () => {
    // Both unconditional sets succeed, but the read after both sees the first one's version.
    const h = [create(1, 0, 1, 'a'), set(1, 2, 3, 'b', -1, { t: 'ok', version: 1 }), set(2, 4, 5, 'c', -1, { t: 'ok', version: 2 }), get(3, 6, 7, 'b', 1)];
    expect(verdict(h)).toBe('illegal');
  });

  test('a read seeing a value before its write began is rejected', () => {
    const h = [create(1, 0, 1, 'a'), get(2, 2, 3, 'b', 1), set(1, 4, 5, 'b', -1, { t: 'ok', version: 1 })];
    expect(verdict(h)).toBe('illegal');
  });

  test('a read concurrent with a write may see either value', () => {
    expect(verdict([create(1, 0, 1, 'a'), set(1, 2, 10, 'b', -1, { t: 'ok', version: 1 }), get(2, 3, 4, 'a', 0)])).toBe('ok');
    expect(verdict([create(1, 0, 1, 'a'), set(1, 2, 10, 'b', -1, { t: 'ok', version: 1 }), get(2, 3, 4, 'b', 1)])).toBe('ok');
  });

  test('but two sequential reads during the write cannot go back from new to old', () => {
    expect(verdict([create(1, 0, 1, 'a'), set(1, 2, 10, 'b', -1, { t: 'ok', version: 1 }), get(2, 3, 4, 'b', 1), get(2, 5, 6, 'a', 0)])).toBe('illegal');
  });

  test('intervals are closed: an op returning at t and one called at t overlap', () => {
    // The read is called exactly when the write returns: it may still be ordered before it.
    expect(verdict([create(1, 0, 1, 'a'), set(1, 2, 5, 'b', -1, { t: 'ok', version: 1 }), get(2, 5, 6, 'a', 0)])).toBe('ok');
    expect(verdict([create(1, 0, 1, 'a'), set(1, 2, 5, 'b', -1, { t: 'ok', version: 1 }), get(2, 5.001, 6, 'a', 0)])).toBe('illegal');
  });

  test('an indeterminate write may have applied or not, but not both', () => {
    const base = (): ZOp[] => [create(1, 0, 1, 'a'), set(1, 2, INF, 'b', -1, unknown)];
    expect(verdict([...base(), get(2, 10, 11, 'b', 1)])).toBe('ok');
    expect(verdict([...base(), get(2, 10, 11, 'a', 0)])).toBe('ok');
    expect(verdict([...base(), get(2, 10, 11, 'a', 0), get(2, 12, 13, 'b', 1)])).toBe('ok');
    expect(verdict([...base(), get(2, 10, 11, 'b', 1), get(2, 12, 13, 'a', 0)])).toBe('illegal');
  });

  test('an indeterminate write cannot take effect before it was sent', () => {
    expect(verdict([create(1, 0, 1, 'a'), get(2, 2, 3, 'b', 1), set(1, 4, INF, 'b', -1, unknown)])).toBe('illegal');
  });

  test('an indeterminate CAS that would fail changes nothing', () => {
    expect(verdict([create(1, 0, 1, 'a'), set(1, 2, INF, 'b', 7, unknown), get(2, 10, 11, 'a', 0)])).toBe('ok');
    expect(verdict([create(1, 0, 1, 'a'), set(1, 2, INF, 'b', 7, unknown), get(2, 10, 11, 'b', 1)])).toBe('illegal');
  });

  test('error outcomes are checked: NodeExists, NoNode, BadVersion', () => {
    expect(verdict([create(1, 0, 1, 'a'), create(2, 2, 3, 'x', { t: 'err', code: 'NodeExists' })])).toBe('ok');
    expect(verdict([create(2, 2, 3, 'x', { t: 'err', code: 'NodeExists' })])).toBe('illegal');
    expect(verdict([set(1, 0, 1, 'a', -1, { t: 'err', code: 'NoNode' })])).toBe('ok');
    expect(verdict([create(1, 0, 1, 'a'), set(1, 2, 3, 'b', 0, { t: 'err', code: 'BadVersion' })])).toBe('illegal');
    expect(verdict([create(1, 0, 1, 'a'), set(1, 2, 3, 'b', 5, { t: 'err', code: 'BadVersion' })])).toBe('ok');
    const del = op(1, 2, 3, { f: 'delete', path: P, version: -1 }, { t: 'ok' });
    expect(verdict([create(1, 0, 1, 'a'), del, get(2, 4, 5)])).toBe('ok');
    expect(verdict([create(1, 0, 1, 'a'), op(1, 2, 3, { f: 'delete', path: P, version: -1 }, { t: 'ok' }), get(2, 4, 5, 'a', 0)])).toBe('illegal');
  });

  test('multi is all or nothing: a read of one key cannot see half of it', () => {
    const mk = (data: string, c: number, t0: number, t1: number, out: ZOutput): ZOp =>
      op(c, t0, t1, { f: 'multi', ops: [{ op: 'set', path: '/a', data: `${data}/a`, version: -1 }, { op: 'set', path: '/b', data: `${data}/b`, version: -1 }] }, out);
    const init = op(1, 0, 1, { f: 'multi', ops: [{ op: 'create', path: '/a', data: 'm0/a' }, { op: 'create', path: '/b', data: 'm0/b' }] }, { t: 'ok' });
    const ga = (t0: number, t1: number, data: string, v: number): ZOp => op(2, t0, t1, { f: 'get', path: '/a' }, { t: 'ok', data, version: v });
    const gb = (t0: number, t1: number, data: string, v: number): ZOp => op(2, t0, t1, { f: 'get', path: '/b' }, { t: 'ok', data, version: v });
    expect(verdict([init, mk('m1', 1, 2, 20, { t: 'ok' }), ga(3, 4, 'm1/a', 1), gb(5, 6, 'm1/b', 1)])).toBe('ok');
    expect(verdict([init, mk('m1', 1, 2, 20, { t: 'ok' }), ga(3, 4, 'm1/a', 1), gb(5, 6, 'm0/b', 0)])).toBe('illegal');
    // A failed multi (its check fails at op 1) changes nothing.
    const failed = op(1, 2, 3, { f: 'multi', ops: [{ op: 'set', path: '/a', data: 'mX/a', version: -1 }, { op: 'check', path: '/b', version: 9 }] }, { t: 'err', code: 'BadVersion', opIndex: 1 });
    expect(verdict([init, failed, ga(4, 5, 'm0/a', 0)])).toBe('ok');
    expect(verdict([init, failed, ga(4, 5, 'mX/a', 1)])).toBe('illegal');
    const wrongIndex = op(1, 2, 3, { f: 'multi', ops: [{ op: 'set', path: '/a', data: 'mY/a', version: -1 }, { op: 'check', path: '/b', version: 9 }] }, { t: 'err', code: 'BadVersion', opIndex: 0 });
    expect(verdict([init, wrongIndex])).toBe('illegal');
  });

  test('P-compositionality: each key is checked alone; one bad key makes the history illegal', () => {
    const a = [create(1, 0, 1, 'a'), get(2, 2, 3, 'a', 0)];
    const b = [create(1, 0, 1, 'x'), set(1, 2, 3, 'y', -1, { t: 'ok', version: 1 }), get(2, 4, 5, 'x', 0)];
    const part = new Map<number, string>([...a.map((o) => [o.id, 'a'] as const), ...b.map((o) => [o.id, 'b'] as const)]);
    const r = checkPartitioned(znodeModel, [...a, ...b], (o) => part.get(o.id)!);
    expect(r).toMatchObject({ verdict: 'illegal', partitions: 2, ok: 1, illegal: 1, unknown: 0 });
    expect(r.results.get('b')!.verdict).toBe('illegal');
  });

  test('a spent time budget gives unknown, never ok', () => {
    // Many concurrent indeterminate writes and reads: a large search space.
    const h: ZOp[] = [create(0, 0, 1, 'v0')];
    for (let c = 1; c <= 14; c++) h.push(set(c, 2, INF, `v${c}`, -1, unknown));
    for (let i = 0; i < 14; i++) h.push(get(20, 10 + 2 * i, 11 + 2 * i, `v${((i * 5) % 14) + 1}`));
    let t = 0;
    const r = checkLinearizable(znodeModel, h, { timeBudgetMs: 50, now: () => (t += 1) });
    expect(r.verdict).toBe('unknown');
    expect(r.reason).toMatch(/time budget/);
    const c = checkLinearizable(znodeModel, h, { maxCacheEntries: 10 });
    expect(c.verdict).toBe('unknown');
  });

  test('iterative: 20,000 sequential operations do not overflow the stack', () => {
    const h: ZOp[] = [create(1, 0, 1, 'v0')];
    for (let i = 1; i < 20_000; i++) h.push(set(1, 2 * i, 2 * i + 1, `v${i}`, i - 1, { t: 'ok', version: i }));
    const r = checkLinearizable(znodeModel, h, { timeBudgetMs: 60_000 });
    expect(r.verdict).toBe('ok');
  });

  test('the cache keeps a wide but valid history fast', () => {
    // 12 concurrent writers, reads pin each value in a valid order.
    const h: ZOp[] = [create(0, 0, 1, 'v0')];
    for (let c = 1; c <= 12; c++) h.push(set(c, 2, 100, `v${c}`, -1, { t: 'ok' }));
    for (let c = 1; c <= 12; c++) h.push(get(20, 100 + 2 * c, 101 + 2 * c, 'v12'));
    const r = checkLinearizable(znodeModel, h, { timeBudgetMs: 10_000 });
    expect(r.verdict).toBe('ok');
  });
});

describe('the sequence model', () => {
  const seq = (c: number, t0: number, t1: number, n: number | undefined): Operation<SeqInput, SeqOutput> => ({
    id: nextId++,
    client: c,
    input: { f: 'createSeq', parent: '/s', prefix: '/s/n-', data: `d${nextId}` },
    output: n === undefined ? { t: 'unknown' } : { t: 'ok', seq: n },
    call: t0,
    ret: n === undefined ? INF : t1,
  });
  test('names unique and increasing in real-time order', () => {
    expect(checkLinearizable(sequenceModel, [seq(1, 0, 1, 0), seq(2, 2, 3, 1), seq(1, 4, 10, 3), seq(2, 5, 9, 2)]).verdict).toBe('ok');
    expect(checkLinearizable(sequenceModel, [seq(1, 0, 1, 0), seq(2, 2, 3, 2), seq(1, 4, 5, 1)]).verdict).toBe('illegal');
    expect(checkLinearizable(sequenceModel, [seq(1, 0, 1, 0), seq(2, 2, 3, 0)]).verdict).toBe('illegal');
    // An indeterminate create may take a number in between.
    expect(checkLinearizable(sequenceModel, [seq(1, 0, 1, 0), seq(3, 1, 1, undefined), seq(2, 2, 3, 2)]).verdict).toBe('ok');
    expect(checkLinearizable(sequenceModel, [seq(1, 0, 1, 0), seq(2, 2, 3, 2)]).verdict).toBe('illegal');
  });
});

// ------------------------------------------------------------------ history-level checkers

let hid = 1000;
function hop(partial: Partial<HistoryOp> & Pick<HistoryOp, 'input'>): HistoryOp {
  return { id: hid++, client: 1, member: 1, workload: 'register', partition: (partial.input as { path?: string }).path ?? '/r', call: 0, ret: 1, status: 'ok', ...partial };
}
function node(data: string, extra: Partial<NodeDump> = {}): NodeDump {
  return { data, version: 0, czxid: 1, mzxid: 1, pzxid: 1, cversion: 0, numChildren: 0, ephemeralOwner: '0', ...extra };
}

describe('history-level checkers', () => {
  test('linearizability over a recorded history: local reads excluded, failed writes dropped, final reads count', () => {
    const h = [
      hop({ input: { f: 'create', path: '/r', data: 'a' }, output: { t: 'ok', version: 0 }, call: 0, ret: 1, zxid: 5 }),
      hop({ input: { f: 'set', path: '/r', data: 'b', version: -1 }, output: { t: 'ok', version: 1 }, call: 2, ret: 3, zxid: 6 }),
      // A stale local read is allowed by contract here...
      hop({ input: { f: 'get', path: '/r' }, read: 'local', output: { t: 'ok', data: 'a', version: 0 }, call: 4, ret: 5, zxid: 5, mzxid: 5 }),
      hop({ input: { f: 'set', path: '/r', data: 'z', version: -1 }, status: 'fail', call: 6, ret: 7 }),
      hop({ input: { f: 'get', path: '/r' }, read: 'linearizable', output: { t: 'ok', data: 'b', version: 1 }, call: 8, ret: 9, final: true }),
    ];
    expect(checkLinearizability(h, undefined).verdict).toBe('ok');
    const stale = [...h, hop({ input: { f: 'get', path: '/r' }, read: 'linearizable', output: { t: 'ok', data: 'a', version: 0 }, call: 10, ret: 11 })];
    const r = checkLinearizability(stale, undefined);
    expect(r.verdict).toBe('illegal');
    expect(r.violations[0]).toMatch(/not linearizable/);
  });

  test('sequential creates: indeterminate ones resolved from the final tree', () => {
    const seqIn = (data: string): SeqInput => ({ f: 'createSeq', parent: '/s', prefix: '/s/n-', data });
    const h = [
      hop({ workload: 'seq', partition: '/s', input: seqIn('x'), output: { t: 'ok', seq: 0 }, call: 0, ret: 1 }),
      hop({ workload: 'seq', partition: '/s', input: seqIn('y'), status: 'info', call: 1, ret: INF }),
      hop({ workload: 'seq', partition: '/s', input: seqIn('w'), status: 'info', call: 1, ret: INF }),
      hop({ workload: 'seq', partition: '/s', input: seqIn('z'), output: { t: 'ok', seq: 2 }, call: 3, ret: 4 }),
    ];
    const final: TreeDump = new Map([
      ['/s', node('')],
      ['/s/n-0000000000', node('x')],
      ['/s/n-0000000001', node('y')],
      ['/s/n-0000000002', node('z')],
    ]);
    const resolved = resolveSequential(h, final);
    expect(resolved.length).toBe(3);
    expect(resolved[1]!.output).toEqual({ t: 'ok', seq: 1 });
    expect(checkLinearizability(h, final).verdict).toBe('ok');
    expect(checkLostWrites(h, final).violations).toEqual([]);
    final.delete('/s/n-0000000002');
    expect(checkLostWrites(h, final).violations[0]).toMatch(/acknowledged write lost.*n-0000000002/);
  });

  test('lost writes: an acknowledged unique create must be in the final tree', () => {
    const h = [hop({ workload: 'unique', input: { f: 'create', path: '/u/1', data: 'u1' }, output: { t: 'ok', version: 0 } }), hop({ workload: 'unique', input: { f: 'create', path: '/u/2', data: 'u2' }, status: 'info', ret: INF })];
    expect(checkLostWrites(h, new Map([['/u/1', node('u1')]])).violations).toEqual([]);
    expect(checkLostWrites(h, new Map([['/u/2', node('u2')]])).violations).toHaveLength(1);
  });

  test('failed writes stay invisible; a value twice means a double apply', () => {
    const h = [
      hop({ input: { f: 'set', path: '/r', data: 'f1', version: -1 }, status: 'fail', detail: '503 it was not applied' }),
      hop({ input: { f: 'set', path: '/r', data: 'f2', version: 3 }, output: { t: 'err', code: 'BadVersion' } }),
      hop({ input: { f: 'get', path: '/r' }, read: 'local', output: { t: 'ok', data: 'f1', version: 1 } }),
    ];
    const r = checkFailedInvisible(h, new Map([['/r', node('f2')]]));
    expect(r.violations).toHaveLength(2);
    expect(checkFailedInvisible([], new Map([['/a', node('v')], ['/b', node('v')]])).violations[0]).toMatch(/applied twice/);
  });

  test('multi atomicity in the final tree', () => {
    const groups = new Map([['g', ['/m/a', '/m/b']]]);
    expect(checkMultiAtomic(groups, new Map([['/m/a', node('m1/a', { version: 2, mzxid: 9 })], ['/m/b', node('m1/b', { version: 2, mzxid: 9 })]])).violations).toEqual([]);
    expect(checkMultiAtomic(groups, new Map([['/m/a', node('m1/a', { version: 2, mzxid: 9 })], ['/m/b', node('m2/b', { version: 2, mzxid: 9 })]])).violations).toHaveLength(1);
    expect(checkMultiAtomic(groups, new Map([['/m/a', node('m1/a')]])).violations).toHaveLength(1);
  });

  test('per-client zxid order', () => {
    const r = (zxid: number, call: number): HistoryOp => hop({ input: { f: 'get', path: '/r' }, read: 'local', output: { t: 'ok', data: 'a' }, zxid, call, ret: call + 1 });
    expect(checkSessionOrder([r(5, 0), r(5, 2), r(9, 4)]).violations).toEqual([]);
    expect(checkSessionOrder([r(5, 0), r(9, 2), r(7, 4)]).violations).toHaveLength(1);
  });

  test('local reads: no acknowledged write between the znode mzxid and the answer zxid', () => {
    const w1 = hop({ input: { f: 'create', path: '/r', data: 'a' }, output: { t: 'ok', version: 0 }, zxid: 5 });
    const w2 = hop({ input: { f: 'set', path: '/r', data: 'b', version: -1 }, output: { t: 'ok', version: 1 }, zxid: 8 });
    const read = (data: string, mzxid: number, zxid: number): HistoryOp => hop({ input: { f: 'get', path: '/r' }, read: 'local', output: { t: 'ok', data }, mzxid, zxid });
    expect(checkLocalReads([w1, w2, read('a', 5, 7), read('b', 8, 9)]).violations).toEqual([]);
    expect(checkLocalReads([w1, w2, read('a', 5, 8)]).violations[0]).toMatch(/stale read/);
    expect(checkLocalReads([w1, w2, read('x', 8, 9)]).violations[0]).toMatch(/wrote "b"/);
  });

  test('one write per zxid', () => {
    const w = (zxid: number): HistoryOp => hop({ input: { f: 'set', path: '/r', data: `d${zxid}${hid}`, version: -1 }, output: { t: 'ok', version: 1 }, zxid });
    expect(checkZxidsUnique([w(1), w(2)]).violations).toEqual([]);
    expect(checkZxidsUnique([w(1), w(1)]).violations).toHaveLength(1);
  });

  test('replica agreement', () => {
    const t1: TreeDump = new Map([['/a', node('x')]]);
    const t2: TreeDump = new Map([['/a', node('x')]]);
    expect(checkReplicas([{ member: 1, appliedZxid: 4, tree: t1 }, { member: 2, appliedZxid: 4, tree: t2 }]).violations).toEqual([]);
    const t3: TreeDump = new Map([['/a', node('x', { version: 1 })]]);
    expect(checkReplicas([{ member: 1, appliedZxid: 4, tree: t1 }, { member: 3, appliedZxid: 5, tree: t3 }]).violations).toHaveLength(2);
  });
});

describe('watch stream checks', () => {
  const w1 = hop({ input: { f: 'create', path: '/f/a', data: 'a' }, output: { t: 'ok', version: 0 }, zxid: 10 });
  const w2 = hop({ input: { f: 'set', path: '/f/a', data: 'b', version: -1 }, output: { t: 'ok', version: 1 }, zxid: 12 });
  const failed = hop({ input: { f: 'set', path: '/f/a', data: 'c', version: 7 }, output: { t: 'err', code: 'BadVersion' }, zxid: 13 });
  const ev = (zxid: number, type: string, path = '/f/a') => [{ zxid, type, path }];
  const final: TreeDump = new Map([['/f/a', node('b', { czxid: 10, mzxid: 12, version: 1 })]]);
  const log = (frames: ReturnType<typeof ev>[], to = 14, from = 5): WatcherLog => ({ watcher: 1, path: '/f', segments: [{ member: 1, from, to, resumed: false, frames, ended: 'end' }] });

  test('a complete stream passes; one unknown zxid (11) must agree between watchers', () => {
    const a = log([ev(10, 'NodeCreated'), ev(11, 'NodeCreated', '/f/x'), ev(12, 'NodeDataChanged')]);
    const b: WatcherLog = { ...log([ev(10, 'NodeCreated'), ev(11, 'NodeCreated', '/f/x'), ev(12, 'NodeDataChanged')]), watcher: 2 };
    const finalX = new Map(final).set('/f/x', node('x', { czxid: 11, mzxid: 11 }));
    const r = checkWatches([a, b], [w1, w2, failed], finalX, 14);
    expect(r.violations).toEqual([]);
    expect(r.events).toBe(6);
    const c: WatcherLog = { ...log([ev(10, 'NodeCreated'), ev(12, 'NodeDataChanged')]), watcher: 3 };
    const r2 = checkWatches([a, c], [w1, w2, failed], undefined, undefined);
    expect(r2.mismatches).toBe(1);
  });

  test('gaps, duplicates, reorderings and events a write did not cause are reported', () => {
    expect(checkWatches([log([ev(10, 'NodeCreated')])], [w1, w2], final, 14).gaps).toBeGreaterThan(0);
    expect(checkWatches([log([ev(10, 'NodeCreated'), ev(10, 'NodeCreated'), ev(12, 'NodeDataChanged')])], [w1, w2], final, 14).duplicates).toBeGreaterThan(0);
    expect(checkWatches([log([ev(12, 'NodeDataChanged'), ev(10, 'NodeCreated')])], [w1, w2], final, 14).reorderings).toBeGreaterThan(0);
    expect(checkWatches([log([ev(10, 'NodeCreated'), ev(12, 'NodeDataChanged'), ev(13, 'NodeDataChanged')])], [w1, w2, failed], final, 14).mismatches).toBe(1);
    // Outside the covered range nothing is expected.
    expect(checkWatches([log([ev(12, 'NodeDataChanged')], 14, 10)], [w1, w2], final, 14).violations).toEqual([]);
  });

  test('a resumed segment must start where the previous ended', () => {
    const l: WatcherLog = {
      watcher: 1,
      path: '/f',
      segments: [
        { member: 1, from: 5, to: 10, resumed: false, frames: [ev(10, 'NodeCreated')], ended: 'closed' },
        { member: 2, from: 11, to: 14, resumed: true, frames: [ev(12, 'NodeDataChanged')], ended: 'end' },
      ],
    };
    expect(checkWatches([l], [w1, w2], final, 14).violations[0]).toMatch(/resumed from 11/);
  });
});

describe('session checks', () => {
  const s = 1_000_000; // µs
  const base = (over: Partial<SessionRecord>): SessionRecord => ({ worker: 1, session: '7', timeoutMs: 3000, openedAt: 0, lastKeepaliveOk: 2 * s, maxKeepaliveGap: 0.8 * s, ephemerals: ['/e/a'], end: 'abandoned', ...over });
  const opts = { expiryBoundMs: 2000, quietMarginMs: 1000 };
  test('ephemerals gone within timeout + bound pass; later, or never, fail', () => {
    expect(checkSessions([base({ goneAt: 6 * s })], [], undefined, undefined, opts).violations).toEqual([]);
    expect(checkSessions([base({ goneAt: 8 * s })], [], undefined, undefined, opts).violations[0]).toMatch(/over timeout/);
    expect(checkSessions([base({})], [], undefined, undefined, opts).violations[0]).toMatch(/never seen gone/);
    // A fault in the window: not judged.
    expect(checkSessions([base({ goneAt: 9 * s })], [{ start: 3 * s, end: 4 * s }], undefined, undefined, opts).violations).toEqual([]);
  });
  test('close: no ephemeral after the acknowledgement; creates answer 410', () => {
    expect(checkSessions([base({ end: 'closed', presentAfterClose: '/e/a', createAfterClose: 201 })], [], undefined, undefined, opts).violations).toHaveLength(2);
    expect(checkSessions([base({ end: 'closed', createAfterClose: 410, goneAt: 3 * s })], [], undefined, undefined, opts).violations).toEqual([]);
  });
  test('a kept-alive session expiring without faults is a violation', () => {
    expect(checkSessions([base({ end: 'expired', endAt: 3 * s, ephemerals: [] })], [], undefined, undefined, opts).violations[0]).toMatch(/expired while kept alive/);
    expect(checkSessions([base({ end: 'expired', endAt: 3 * s, ephemerals: [], maxKeepaliveGap: 3 * s })], [], undefined, undefined, opts).violations).toEqual([]);
  });
  test('leaked ephemerals in the final tree', () => {
    const final: TreeDump = new Map([['/e/a', node('x', { ephemeralOwner: '7' })], ['/p', node('y')]]);
    expect(checkSessions([], [], final, new Set(['7']), opts).violations).toEqual([]);
    expect(checkSessions([], [], final, new Set(), opts).violations[0]).toMatch(/leaked ephemeral/);
  });
});
