/**
 * The replicated session state: SessionTable applied with the tree (create, close, id
 * collisions, ephemeral clean-up in the same entry, SessionExpired at apply for ephemeral
 * creates, also in a multi), the conditional reap op (container and TTL rules with the
 * entry's time), the leader's sweep, and snapshots of tree + table at one zxid.
 */
import { TokenTable } from '../../src/session/token-table.js';
import type { ApplyOutcome, Op, OpFailure, OpResult, SessionId, TreeEvent } from '../../src/core/types.js';
import { DataTree } from '../../src/tree/datatree.js';
import { applyOp, beginSnapshot, isMemberSnapshot, precheck, restoreSnapshot, snapshot, sweep, SessionTable, MAX_SESSION_ID } from '../../src/session/index.js';
import { CLOSED_MEMORY } from '../../src/session/table.js';
import { encode } from '../../src/util/codec.js';

const T0 = 1_700_000_000_000;
const EMPTY = new Uint8Array(0);
const S1 = 0x1234_5678_9abc_def0n;
const S2 = 42n;

const big = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? String(v) : v);

/** Tree and table driven at zxids 1, 2, 3... with time T0 + zxid unless given. */
class Replica {
  tree = new DataTree();
  sessions = new SessionTable();
  zxid = 0;
  run(op: Op, time?: number): ApplyOutcome {
    this.zxid++;
    return applyOp(this.tree, { sessions: this.sessions, tokens: new TokenTable() }, op, this.zxid, time ?? T0 + this.zxid);
  }
  ok(op: Op, time?: number): { result: OpResult; events: TreeEvent[] } {
    const r = this.run(op, time);
    if (!r.ok) throw new Error(`expected success, got ${JSON.stringify(r.failure)}`);
    // Type and path only: test/tree/acl.test.ts checks the events' ACLs.
    return { result: r.result, events: r.events.map(({ type, path }) => ({ type, path })) };
  }
  fail(op: Op, time?: number): OpFailure {
    const r = this.run(op, time);
    if (r.ok) throw new Error(`expected failure, got ${JSON.stringify(r.result, big)}`);
    expect(r.events).toEqual([]);
    return r.failure;
  }
  open(id: SessionId, timeoutMs = 10_000): void {
    this.ok({ op: 'createSession', id, timeoutMs });
  }
  eph(path: string, owner: SessionId, mode: 'ephemeral' | 'ephemeral_sequential' = 'ephemeral'): string {
    const r = this.ok({ op: 'create', path, data: EMPTY, mode, owner }).result;
    if (r.op !== 'create') throw new Error('not a create');
    return r.path;
  }
  mk(path: string, mode: 'persistent' | 'container' | 'persistent_with_ttl' = 'persistent', ttl?: number, time?: number): void {
    this.ok({ op: 'create', path, data: EMPTY, mode, ...(ttl !== undefined ? { ttl } : {}) }, time);
  }
}

describe('sessions through apply', () => {
  test('createSession opens a session, advancing the tree with every entry', () => {
    const r = new Replica();
    expect(r.ok({ op: 'createSession', id: S1, timeoutMs: 5000 }).result).toEqual({ op: 'createSession', id: S1, timeoutMs: 5000 });
    expect(r.tree.lastZxid).toBe(1);
    expect(r.sessions.isOpen(S1)).toBe(true);
    expect(r.sessions.get(S1)).toEqual({ id: S1, timeoutMs: 5000, czxid: 1, ctime: T0 + 1 });
    expect(r.sessions.size).toBe(1);
  });

  test('an id already open is refused (the proposer retries with another), and so is a recently closed one', () => {
    const r = new Replica();
    r.open(S1);
    const f = r.fail({ op: 'createSession', id: S1, timeoutMs: 1000 });
    expect(f.code).toBe('NodeExists');
    expect(r.sessions.get(S1)!.timeoutMs).toBe(10_000);
    expect(r.tree.lastZxid).toBe(2);
    r.ok({ op: 'closeSession', id: S1, reason: 'closed' });
    expect(r.fail({ op: 'createSession', id: S1, timeoutMs: 1000 }).code).toBe('NodeExists');
  });

  test('the memory of closed ids is bounded, oldest forgotten first', () => {
    const r = new Replica();
    for (let i = 1; i <= CLOSED_MEMORY + 2; i++) {
      r.open(BigInt(i));
      r.ok({ op: 'closeSession', id: BigInt(i), reason: 'closed' });
    }
    expect(r.sessions.refusal(1n)).toBeUndefined();
    expect(r.sessions.refusal(2n)).toBeUndefined();
    expect(r.sessions.refusal(3n)).toBe('recentlyClosed');
    expect(r.sessions.stats).toEqual({ created: CLOSED_MEMORY + 2, closed: CLOSED_MEMORY + 2, expired: 0 });
  });

  test('malformed session ops are refused before the log and fail harmlessly at apply', () => {
    const r = new Replica();
    const bad: Op[] = [
      { op: 'createSession', id: 0n, timeoutMs: 1000 },
      { op: 'createSession', id: MAX_SESSION_ID + 1n, timeoutMs: 1000 },
      { op: 'createSession', id: -5n, timeoutMs: 1000 },
      { op: 'createSession', id: S1, timeoutMs: 0 },
      { op: 'createSession', id: S1, timeoutMs: 1.5 },
      { op: 'createSession', id: 7 as unknown as bigint, timeoutMs: 1000 },
      { op: 'closeSession', id: S1, reason: 'bored' as 'closed' },
    ];
    for (const op of bad) {
      expect(precheck(r.tree, op)?.code).toBe('BadArguments');
      expect(r.fail(op).code).toBe('BadArguments');
    }
    expect(r.sessions.size).toBe(0);
    expect(r.tree.lastZxid).toBe(bad.length);
    expect(precheck(r.tree, { op: 'createSession', id: MAX_SESSION_ID, timeoutMs: 1 })).toBeUndefined();
  });

  test('closing an unknown or closed session is SessionExpired and changes nothing', () => {
    const r = new Replica();
    expect(r.fail({ op: 'closeSession', id: S1, reason: 'closed' }).code).toBe('SessionExpired');
    r.open(S1);
    r.ok({ op: 'closeSession', id: S1, reason: 'expired' });
    expect(r.fail({ op: 'closeSession', id: S1, reason: 'closed' }).code).toBe('SessionExpired');
    expect(r.sessions.stats).toEqual({ created: 1, closed: 1, expired: 1 });
  });

  test('closeSession deletes all its ephemerals in the same entry, each with NodeDeleted, and no one else\'s', () => {
    const r = new Replica();
    r.open(S1);
    r.open(S2);
    r.mk('/app');
    r.mk('/app/locks');
    r.eph('/app/a', S1);
    const seq = r.eph('/app/locks/l-', S1, 'ephemeral_sequential');
    r.eph('/b', S1);
    r.eph('/app/other', S2);
    expect(r.tree.ephemeralsOf(S1)).toEqual(['/app/a', '/app/locks/l-0000000000', '/b']);
    expect(r.tree.ephemeralCount).toBe(4);
    const before = r.zxid;
    const { result, events } = r.ok({ op: 'closeSession', id: S1, reason: 'closed' });
    expect(result).toEqual({ op: 'closeSession', id: S1, reason: 'closed', deleted: ['/app/a', seq, '/b'] });
    expect(events).toEqual([
      { type: 'NodeDeleted', path: '/app/a' },
      { type: 'NodeChildrenChanged', path: '/app' },
      { type: 'NodeDeleted', path: seq },
      { type: 'NodeChildrenChanged', path: '/app/locks' },
      { type: 'NodeDeleted', path: '/b' },
      { type: 'NodeChildrenChanged', path: '/' },
    ]);
    // One entry: every deletion at the same zxid.
    expect(r.tree.stat('/app')!.pzxid).toBe(before + 1);
    expect(r.tree.stat('/app/locks')!.pzxid).toBe(before + 1);
    expect(r.tree.has('/app/a') || r.tree.has(seq) || r.tree.has('/b')).toBe(false);
    expect(r.tree.ephemeralsOf(S1)).toEqual([]);
    expect(r.tree.has('/app/other')).toBe(true);
    expect(r.sessions.isOpen(S1)).toBe(false);
    expect(r.sessions.isOpen(S2)).toBe(true);
  });

  test('an ephemeral create for a session that is not open fails with SessionExpired at apply, also inside a multi', () => {
    const r = new Replica();
    r.mk('/x');
    const f = r.fail({ op: 'create', path: '/x/e', data: EMPTY, mode: 'ephemeral', owner: S1 });
    expect(f).toMatchObject({ code: 'SessionExpired', path: '/x/e' });
    r.open(S1);
    r.eph('/x/e', S1);
    const m = r.fail({
      op: 'multi',
      ops: [
        { op: 'create', path: '/x/p', data: EMPTY, mode: 'persistent' },
        { op: 'create', path: '/x/e2', data: EMPTY, mode: 'ephemeral', owner: S2 },
        { op: 'delete', path: '/x/e', version: -1 },
      ],
    });
    expect(m).toMatchObject({ code: 'SessionExpired', opIndex: 1, results: [{ op: 'create', code: 'Ok' }, { op: 'create', code: 'SessionExpired' }, { op: 'delete', code: 'RuntimeInconsistency' }] });
    expect(r.tree.has('/x/p')).toBe(false);
    expect(r.tree.has('/x/e')).toBe(true);
    // The session's check comes before the znode's (ZooKeeper checks the session first).
    expect(r.fail({ op: 'create', path: '/missing/e', data: EMPTY, mode: 'ephemeral', owner: S2 }).code).toBe('SessionExpired');
    r.ok({ op: 'closeSession', id: S1, reason: 'expired' });
    expect(r.fail({ op: 'create', path: '/x/e3', data: EMPTY, mode: 'ephemeral', owner: S1 }).code).toBe('SessionExpired');
    // Non-ephemeral creates carry no session and are unaffected.
    r.mk('/x/fine');
  });

  test('a container emptied by a session close becomes a reap candidate (ZooKeeper)', () => {
    const r = new Replica();
    r.open(S1);
    r.mk('/box', 'container');
    r.eph('/box/member', S1);
    expect(r.tree.containerCandidates()).toEqual([]);
    r.ok({ op: 'closeSession', id: S1, reason: 'expired' });
    expect(r.tree.containerCandidates()).toEqual(['/box']);
  });

  test('orphan ephemerals (an owner that is not open: state from before sessions) are swept and closed', () => {
    const r = new Replica();
    // Written straight to the tree, as an old log without sessions could have.
    r.zxid++;
    expect(r.tree.apply({ op: 'create', path: '/orphan', data: EMPTY, mode: 'ephemeral', owner: S2 }, r.zxid, T0).ok).toBe(true);
    const s = sweep(r.tree, r.sessions, T0, 100);
    expect(s.orphans).toEqual([{ op: 'closeSession', id: S2, reason: 'expired' }]);
    expect(r.ok(s.orphans[0]!).result).toMatchObject({ deleted: ['/orphan'] });
    expect(sweep(r.tree, r.sessions, T0, 100).orphans).toEqual([]);
  });
});

describe('reap: the leader\'s conditional clean-up', () => {
  test('a container is reaped once it had a child and is empty; never-used, non-empty or refilled ones stay', () => {
    const r = new Replica();
    r.mk('/used', 'container');
    r.mk('/unused', 'container');
    r.mk('/full', 'container');
    r.mk('/used/c');
    r.mk('/full/c');
    r.ok({ op: 'delete', path: '/used/c', version: -1 });
    expect(r.tree.containerCandidates()).toEqual(['/used']);
    expect(r.fail({ op: 'reap', path: '/unused', kind: 'container' }).code).toBe('BadArguments');
    expect(r.fail({ op: 'reap', path: '/full', kind: 'container' }).code).toBe('NotEmpty');
    expect(r.fail({ op: 'reap', path: '/nope', kind: 'container' }).code).toBe('NoNode');
    // A child arrives between the sweep and the apply: the reap changes nothing.
    const due = sweep(r.tree, r.sessions, T0, 10).reaps;
    expect(due).toEqual([{ op: 'reap', path: '/used', kind: 'container' }]);
    r.mk('/used/again');
    expect(r.fail(due[0]!).code).toBe('NotEmpty');
    r.ok({ op: 'delete', path: '/used/again', version: -1 });
    const { result, events } = r.ok(due[0]!);
    expect(result).toEqual({ op: 'reap', path: '/used', kind: 'container' });
    expect(events).toEqual([
      { type: 'NodeDeleted', path: '/used' },
      { type: 'NodeChildrenChanged', path: '/' },
    ]);
    expect(r.tree.has('/used')).toBe(false);
    expect(r.tree.has('/unused')).toBe(true);
    // A reap is no delete of a persistent znode, whatever its state.
    r.mk('/plain');
    expect(r.fail({ op: 'reap', path: '/plain', kind: 'container' }).code).toBe('BadArguments');
    expect(r.fail({ op: 'reap', path: '/plain', kind: 'ttl' }).code).toBe('BadArguments');
  });

  test('a TTL znode is reaped once now - mtime > ttl with no children, judged by the entry\'s time', () => {
    const r = new Replica();
    r.mk('/t', 'persistent_with_ttl', 1000, T0);
    expect(r.tree.ttlCandidates(T0 + 1000)).toEqual([]);
    expect(r.tree.ttlCandidates(T0 + 1001)).toEqual(['/t']);
    // Not yet due by the entry's own time: harmless failure.
    expect(r.fail({ op: 'reap', path: '/t', kind: 'ttl', version: 0 }, T0 + 1000).code).toBe('BadArguments');
    // A set after the sweep moves mtime (and the version): the stale reap changes nothing.
    const due = sweep(r.tree, r.sessions, T0 + 1500, 10).reaps;
    expect(due).toEqual([{ op: 'reap', path: '/t', kind: 'ttl', version: 0 }]);
    r.ok({ op: 'set', path: '/t', data: new Uint8Array([1]), version: -1 }, T0 + 1600);
    expect(r.fail(due[0]!, T0 + 1700).code).toBe('BadVersion');
    expect(r.fail({ op: 'reap', path: '/t', kind: 'ttl' }, T0 + 2600).code).toBe('BadArguments');
    // Children keep it; they coming and going do not refresh mtime.
    r.mk('/t/c', 'persistent', undefined, T0 + 1700);
    expect(r.tree.ttlCandidates(T0 + 5000)).toEqual([]);
    expect(r.fail({ op: 'reap', path: '/t', kind: 'ttl' }, T0 + 5000).code).toBe('NotEmpty');
    r.ok({ op: 'delete', path: '/t/c', version: -1 }, T0 + 5000);
    expect(r.tree.ttlCandidates(T0 + 5000)).toEqual(['/t']);
    const { events } = r.ok({ op: 'reap', path: '/t', kind: 'ttl', version: 1 }, T0 + 5000);
    expect(events[0]).toEqual({ type: 'NodeDeleted', path: '/t' });
    expect(r.tree.has('/t')).toBe(false);
  });

  test('bad reap ops are refused before the log', () => {
    const r = new Replica();
    for (const op of [
      { op: 'reap', path: '/', kind: 'container' },
      { op: 'reap', path: '/zookeeper/quota', kind: 'container' },
      { op: 'reap', path: 'x', kind: 'ttl' },
      { op: 'reap', path: '/a', kind: 'persistent' },
      { op: 'reap', path: '/a', kind: 'ttl', version: -2 },
    ] as Op[]) {
      expect(precheck(r.tree, op)?.code).toBe('BadArguments');
    }
  });

  test('the sweep is throttled: at most `limit` reaps', () => {
    const r = new Replica();
    for (let i = 0; i < 5; i++) {
      r.mk(`/c${i}`, 'container');
      r.mk(`/c${i}/x`);
      r.ok({ op: 'delete', path: `/c${i}/x`, version: -1 });
      r.mk(`/t${i}`, 'persistent_with_ttl', 1, T0);
    }
    expect(sweep(r.tree, r.sessions, T0 + 10, 3).reaps.map((o) => o.path)).toEqual(['/c0', '/c1', '/c2']);
    expect(sweep(r.tree, r.sessions, T0 + 10, 7).reaps.map((o) => o.path)).toEqual(['/c0', '/c1', '/c2', '/c3', '/c4', '/t0', '/t1']);
  });
});

describe('snapshots of tree + sessions', () => {
  function rich(): Replica {
    const r = new Replica();
    r.open(S1, 3000);
    r.open(S2, 60_000);
    r.open(99n);
    r.ok({ op: 'closeSession', id: 99n, reason: 'expired' });
    r.mk('/a');
    r.eph('/a/e', S1);
    r.eph('/e2', S2);
    return r;
  }

  test('round trip: the same tree, the same table, the same bytes', () => {
    const r = rich();
    const bytes = snapshot(r.tree, r.sessions);
    expect(isMemberSnapshot(bytes)).toBe(true);
    const back = restoreSnapshot(bytes);
    expect(back.tree.digest()).toBe(r.tree.digest());
    expect(back.tree.lastZxid).toBe(r.zxid);
    expect(back.sessions.list()).toEqual(r.sessions.list());
    expect(back.sessions.stats).toEqual({ created: 3, closed: 1, expired: 1 });
    expect(back.sessions.refusal(99n)).toBe('recentlyClosed');
    expect(snapshot(back.tree, back.sessions)).toEqual(bytes);
    // Restored state goes on applying exactly like the original.
    const a = r.run({ op: 'closeSession', id: S1, reason: 'closed' });
    const b = applyOp(back.tree, { sessions: back.sessions, tokens: new TokenTable() }, { op: 'closeSession', id: S1, reason: 'closed' }, r.zxid, T0);
    expect(b).toEqual(a);
  });

  test('incremental: the table is cut at the zxid where the tree writer starts, whatever applies meanwhile', () => {
    const r = rich();
    const reference = snapshot(r.tree, r.sessions);
    const w = beginSnapshot(r.tree, r.sessions, { smallDir: 1 });
    expect(w.zxid).toBe(r.zxid);
    r.ok({ op: 'closeSession', id: S1, reason: 'closed' });
    r.open(7n);
    r.eph('/late', 7n);
    w.step(1);
    r.ok({ op: 'closeSession', id: S2, reason: 'expired' });
    while (w.step(1));
    expect(w.finish()).toEqual(reference);
  });

  test('a tree-only snapshot (written before sessions) restores with no sessions', () => {
    const r = rich();
    const back = restoreSnapshot(r.tree.snapshot());
    expect(back.tree.digest()).toBe(r.tree.digest());
    expect(back.sessions.size).toBe(0);
  });

  test('malformed session parts are DataInconsistency, never a half-restored state', () => {
    const r = rich();
    const bytes = snapshot(r.tree, r.sessions);
    const headLen = new DataView(bytes.buffer, bytes.byteOffset).getUint32(4);
    const withHead = (head: unknown): Uint8Array => {
      const h = encode(head);
      const out = new Uint8Array(8 + h.length + bytes.length - 8 - headLen);
      out.set(bytes.subarray(0, 4));
      new DataView(out.buffer).setUint32(4, h.length);
      out.set(h, 8);
      out.set(bytes.subarray(8 + headLen), 8 + h.length);
      return out;
    };
    const good = r.sessions.toSnapshot();
    const cases: unknown[] = [
      null,
      { zxid: r.zxid - 1, sessions: good },
      { zxid: r.zxid, sessions: { ...good, v: 2 } },
      { zxid: r.zxid, sessions: { ...good, ids: [S1, S2] } },
      { zxid: r.zxid, sessions: { ...good, timeouts: [0, 1] } },
      { zxid: r.zxid, sessions: { ...good, czxids: [1, r.zxid + 1] } },
      { zxid: r.zxid, sessions: { ...good, created: 7 } },
      { zxid: r.zxid, sessions: { ...good, closed: [S1] } },
    ];
    for (const head of cases) expect(() => restoreSnapshot(withHead(head))).toThrow(/malformed/);
    const truncated = bytes.slice(0, 8 + headLen - 1);
    expect(() => restoreSnapshot(truncated)).toThrow(/malformed/);
  });
});
