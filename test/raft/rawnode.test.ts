/**
 * The Ready/advance contract of RawNode, as the runtime will use it.
 */
import { decode, encode } from '../../src/util/codec.js';
import { AssertionFailure } from '../../src/util/assert.js';
import { Prng } from '../../src/util/prng.js';
import { MemoryLogStorage, RawNode, bootstrapState, committedEntriesDurable, validateMessage, type Message, type Ready, type RawNodeConfig } from '../../src/raft/index.js';

const enc = new TextEncoder();

function node(id: number, storage: MemoryLogStorage, extra: Partial<RawNodeConfig> = {}): RawNode {
  return new RawNode({ id, storage, random: new Prng(id), electionTick: 10, heartbeatTick: 1, ...extra });
}

/** Handles every Ready of `nodes` and delivers messages until nothing is left. */
function stabilize(nodes: Map<number, RawNode>, seen: Message[] = []): void {
  for (let round = 0; round < 100; round++) {
    const queue: Message[] = [];
    for (const n of nodes.values()) {
      while (n.hasReady()) {
        const rd = n.ready();
        for (const m of rd.messages) queue.push(m);
        n.advance(rd);
      }
    }
    if (queue.length === 0) return;
    for (const m of queue) {
      seen.push(m);
      nodes.get(m.to)?.step(decode(encode(m)) as Message);
    }
  }
  throw new Error('did not stabilize');
}

/** JSON-comparable form: byte arrays (Uint8Array or Buffer) as number arrays. */
function plain(x: unknown): unknown {
  return JSON.parse(JSON.stringify(x, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : (v as { type?: string; data?: number[] })?.type === 'Buffer' ? (v as { data: number[] }).data : v)));
}

function cluster(n: number, extra: Partial<RawNodeConfig> = {}): Map<number, RawNode> {
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  return new Map(ids.map((id) => [id, node(id, MemoryLogStorage.bootstrap(ids), extra)]));
}

describe('RawNode', () => {
  it("a leader's messages may leave before its write; a candidate's and a follower's may not; an entry still commits only on a durable quorum", () => {
    const nodes = cluster(3);
    stabilize(nodes);
    const n1 = nodes.get(1)!;
    n1.campaign();
    // Campaigning changes term and vote: the vote requests vouch for durable state.
    let rd = n1.ready();
    expect(rd.messages.some((m) => m.type === 'MsgPreVote')).toBe(true);
    expect(n1.sendableBeforePersist(rd)).toBe(false);
    const queue: Message[] = [...rd.messages];
    n1.advance(rd);
    for (let round = 0; round < 50 && queue.length > 0; round++) {
      for (const m of queue.splice(0)) nodes.get(m.to)!.step(m);
      for (const n of nodes.values()) {
        while (n.hasReady()) {
          rd = n.ready();
          // Only the leader's Readys may send early (here: its first MsgApps and commits).
          expect(n.sendableBeforePersist(rd)).toBe(n === n1 && n1.status().role === 'leader');
          queue.push(...rd.messages);
          n.advance(rd);
        }
      }
    }
    expect(n1.status().role).toBe('leader');
    stabilize(nodes);
    // The leader proposes: the MsgApps may go out before its own write.
    expect(n1.propose(enc.encode('x')).ok).toBe(true);
    rd = n1.ready();
    expect(rd.entries.length).toBe(1);
    expect(n1.sendableBeforePersist(rd)).toBe(true);
    const index = rd.entries[0]!.index;
    // Both followers persist and acknowledge before the leader's write is done: that quorum
    // of two durable copies commits the entry, the leader's own copy not yet counted.
    for (const m of rd.messages) nodes.get(m.to)!.step(m);
    const acks: Message[] = [];
    for (const id of [2, 3]) {
      const f = nodes.get(id)!;
      const frd = f.ready();
      expect(f.sendableBeforePersist(frd)).toBe(false);
      acks.push(...frd.messages);
      f.advance(frd);
    }
    for (const m of acks) n1.step(m);
    expect(n1.status().commit).toBe(index);
    n1.advance(rd);
    // In a 3-member cluster with one follower down, the leader's own durable copy is needed.
    expect(n1.propose(enc.encode('y')).ok).toBe(true);
    rd = n1.ready();
    expect(n1.sendableBeforePersist(rd)).toBe(true);
    const y = rd.entries[0]!.index;
    for (const m of rd.messages) if (m.to === 2) nodes.get(2)!.step(m);
    const frd = nodes.get(2)!.ready();
    const ack2 = frd.messages;
    nodes.get(2)!.advance(frd);
    for (const m of ack2) n1.step(m);
    expect(n1.status().commit).toBeLessThan(y); // 2's copy alone is not a quorum
    n1.advance(rd); // the leader's write is done: now 1 and 2 hold it
    expect(n1.status().commit).toBe(y);
  });

  it('committedEntriesDurable: only entries on the local disk that this Ready does not replace', () => {
    const e = (term: number, index: number) => ({ term, index, type: 'normal' as const, data: new Uint8Array(0) });
    const rd = (entries: ReturnType<typeof e>[], committed: ReturnType<typeof e>[]): Ready =>
      ({ entries, committedEntries: committed, messages: [], readStates: [], mustSync: entries.length > 0 });
    expect(committedEntriesDurable(rd([], [e(2, 5), e(2, 6)]), 6)).toBe(true);
    expect(committedEntriesDurable(rd([], [e(2, 5), e(2, 6)]), 5)).toBe(false); // 6 not on disk yet
    expect(committedEntriesDurable(rd([e(2, 9)], [e(2, 7), e(2, 8)]), 8)).toBe(true); // appends after them
    // The disk holds old entries 7..10 of term 1; this Ready replaces them from 7 with term 2
    // entries, and 7 and 8 are committed: they are not on disk until the Ready is written.
    expect(committedEntriesDurable(rd([e(2, 7), e(2, 8)], [e(2, 6), e(2, 7), e(2, 8)]), 10)).toBe(false);
    expect(committedEntriesDurable(rd([], []), 10)).toBe(false);
    const withSnap = rd([], [e(2, 5)]);
    withSnap.snapshot = { meta: { index: 4, term: 2, confState: { voters: [1] } }, data: new Uint8Array(0) };
    expect(committedEntriesDurable(withSnap, 10)).toBe(false);
  });

  it('forgetLeader: a follower forgets only its own leader, and campaigns within a third of an election timeout', () => {
    const nodes = cluster(3);
    stabilize(nodes);
    nodes.get(1)!.campaign();
    stabilize(nodes);
    const n2 = nodes.get(2)!;
    expect(n2.status().leader).toBe(1);
    n2.forgetLeader(3);
    expect(n2.status().leader).toBe(1);
    nodes.get(1)!.forgetLeader(1);
    expect(nodes.get(1)!.status().role).toBe('leader');
    n2.forgetLeader(1);
    expect(n2.status().leader).toBe(0);
    let ticks = 0;
    while (n2.status().role === 'follower' && ticks < 10) {
      n2.tick();
      ticks++;
    }
    expect(n2.status().role).toBe('preCandidate');
    expect(ticks).toBeLessThanOrEqual(3);
  });

  it('single member: bootstrap, election, proposal; entries are durable before they commit', () => {
    const n = node(1, MemoryLogStorage.bootstrap([1]));
    // First Ready: the bootstrap conf change is handed out as committed and applied at advance.
    let rd = n.ready();
    expect(rd.committedEntries.map((e) => e.type)).toEqual(['confChange']);
    n.advance(rd);
    expect(n.status().confState.voters).toEqual([1]);
    n.campaign();
    expect(n.status().role).toBe('leader');
    rd = n.ready();
    expect(rd.mustSync).toBe(true);
    expect(rd.hardState).toEqual({ term: 2, vote: 1, commit: 1 });
    expect(rd.entries.map((e) => `${e.term}/${e.index}`)).toEqual(['2/2']);
    expect(rd.committedEntries).toEqual([]); // not durable yet
    n.advance(rd);
    rd = n.ready();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([2]);
    expect(rd.mustSync).toBe(false); // a commit-only change needs no fsync
    n.advance(rd);
    const res = n.propose(enc.encode('a'));
    expect(res).toEqual({ ok: true, index: 3, term: 2 });
    expect(n.hasReady()).toBe(true);
  });

  it('refuses ready() twice without advance()', () => {
    const n = node(1, MemoryLogStorage.bootstrap([1]));
    n.ready();
    expect(() => n.ready()).toThrow(AssertionFailure);
  });

  it('three members elect a leader, replicate and apply; every message survives msgpack', () => {
    const nodes = cluster(3);
    const seen: Message[] = [];
    stabilize(nodes, seen);
    nodes.get(1)!.campaign();
    stabilize(nodes, seen);
    expect(nodes.get(1)!.status().role).toBe('leader');
    for (let i = 0; i < 5; i++) expect(nodes.get(1)!.propose(enc.encode(`v${i}`)).ok).toBe(true);
    expect(nodes.get(2)!.readIndex(enc.encode('rd')).ok).toBe(true);
    stabilize(nodes, seen);
    for (const n of nodes.values()) expect(n.status().commit).toBe(9);
    for (const m of seen) expect(plain(decode(encode(m)))).toEqual(plain(m));
    const types = new Set(seen.map((m) => m.type));
    expect([...types].sort()).toEqual(['MsgApp', 'MsgAppResp', 'MsgHeartbeat', 'MsgHeartbeatResp', 'MsgPreVote', 'MsgPreVoteResp', 'MsgReadIndex', 'MsgReadIndexResp', 'MsgVote', 'MsgVoteResp']);
    for (const m of seen) {
      const back = decode(encode(m)) as Message;
      expect(back.type).toBe(m.type);
      expect(back.entries.length).toBe(m.entries.length);
      expect(validateMessage(back)).toBeUndefined();
    }
  });

  it('refuses proposals with a reason and names the leader', () => {
    const nodes = cluster(3);
    stabilize(nodes);
    nodes.get(2)!.campaign();
    stabilize(nodes);
    expect(nodes.get(1)!.propose(enc.encode('x'))).toEqual({ ok: false, reason: 'not-leader', leader: 2 });
    expect(nodes.get(2)!.transferLeadership(3).ok).toBe(true);
    expect(nodes.get(2)!.propose(enc.encode('x'))).toMatchObject({ ok: false, reason: 'transferring' });
    stabilize(nodes);
    expect(nodes.get(3)!.status().role).toBe('leader');
  });

  it('flow control: the uncommitted budget refuses proposals until entries commit', () => {
    const nodes = cluster(3, { maxUncommittedEntriesSize: 10 });
    stabilize(nodes);
    nodes.get(1)!.campaign();
    stabilize(nodes);
    const l = nodes.get(1)!;
    expect(l.propose(new Uint8Array(6)).ok).toBe(true);
    expect(l.propose(new Uint8Array(6))).toMatchObject({ ok: false, reason: 'flow-control' });
    stabilize(nodes);
    expect(l.propose(new Uint8Array(6)).ok).toBe(true);
  });

  it('conf changes: one at a time, validated', () => {
    const nodes = cluster(3);
    stabilize(nodes);
    nodes.get(1)!.campaign();
    stabilize(nodes);
    const l = nodes.get(1)!;
    expect(l.proposeConfChange({ type: 'remove', id: 9 })).toMatchObject({ ok: false, reason: 'invalid-conf-change' });
    expect(l.proposeConfChange({ type: 'add', id: 2 })).toMatchObject({ ok: false, reason: 'invalid-conf-change' });
    expect(l.proposeConfChange({ type: 'remove', id: 3 }).ok).toBe(true);
    expect(l.proposeConfChange({ type: 'remove', id: 2 })).toMatchObject({ ok: false, reason: 'conf-change-pending' });
    stabilize(nodes);
    expect(l.status().confState.voters).toEqual([1, 2]);
    expect(l.proposeConfChange({ type: 'remove', id: 2 }).ok).toBe(true);
    stabilize(nodes);
    expect(l.status().confState.voters).toEqual([1]);
    expect(l.proposeConfChange({ type: 'remove', id: 1 })).toMatchObject({ ok: false, reason: 'invalid-conf-change' });
  });

  it('drops malformed messages instead of throwing', () => {
    const n = node(1, MemoryLogStorage.bootstrap([1, 2, 3]));
    const good: Message = { type: 'MsgHeartbeat', from: 2, to: 1, term: 5, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 };
    expect(validateMessage(good)).toBeUndefined();
    const bad: unknown[] = [
      { ...good, type: 'MsgNope' },
      { ...good, from: 0 },
      { ...good, term: -1 },
      { ...good, entries: [{ index: 3, term: 1, type: 'normal', data: new Uint8Array() }] },
      { ...good, type: 'MsgSnap' },
      { ...good, context: 'text' },
      null,
    ];
    for (const m of bad) {
      expect(validateMessage(m as Message)).toBeDefined();
      expect(() => n.step(m as Message)).not.toThrow();
    }
    expect(n.status().term).toBe(1);
    n.step({ ...good, to: 7 }); // not ours
    expect(n.status().term).toBe(1);
  });

  it('restart: a crash between a Ready`s entries and its hard state adopts the log`s term, unvoted', () => {
    const b = bootstrapState([1, 2, 3]);
    const storage = MemoryLogStorage.fromDisk({
      hardState: { term: 2, vote: 2, commit: 3 },
      entries: [...b.entries, { index: 4, term: 3, type: 'normal', data: new Uint8Array() }],
    });
    const n = node(1, storage);
    expect(n.status()).toMatchObject({ term: 3, vote: 0, commit: 3 });
    const rd = n.ready();
    expect(rd.hardState).toEqual({ term: 3, vote: 0, commit: 3 });
    expect(rd.mustSync).toBe(true);
  });

  it('restart: commit below the snapshot (crash after the snapshot, before the hard state) is raised to it', () => {
    const storage = MemoryLogStorage.fromDisk({
      hardState: { term: 2, vote: 1, commit: 4 },
      snapshot: { meta: { index: 9, term: 2, confState: { voters: [1, 2, 3] } }, data: new Uint8Array([1]) },
      entries: [],
    });
    const n = node(1, storage, { applied: 9 });
    expect(n.status()).toMatchObject({ commit: 9, applied: 9, firstIndex: 10, lastIndex: 9 });
  });

  it('steps between ready() and advance(): overwritten entries are persisted again, not marked stable', () => {
    const nodes = cluster(3);
    stabilize(nodes);
    nodes.get(1)!.campaign();
    stabilize(nodes);
    const f = nodes.get(3)!;
    const lastIdx = f.status().lastIndex;
    const term = f.status().term;
    const app = (index: number, t: number, data: string, prev: number, prevTerm: number): Message => ({
      type: 'MsgApp', from: 1, to: 3, term: t, logTerm: prevTerm, index: prev,
      entries: [{ index, term: t, type: 'normal', data: enc.encode(data) }], commit: 0, reject: false, rejectHint: 0,
    });
    f.step(app(lastIdx + 1, term, 'old', lastIdx, term));
    const rd1: Ready = f.ready();
    expect(rd1.entries.map((e) => e.index)).toEqual([lastIdx + 1]);
    // While rd1 is being written, a new leader (term + 1) overwrites that entry.
    f.step({ ...app(lastIdx + 1, term + 1, 'new', lastIdx, term), from: 2 });
    f.advance(rd1);
    const rd2 = f.ready();
    expect(rd2.entries.map((e) => [e.index, e.term])).toEqual([[lastIdx + 1, term + 1]]);
    f.advance(rd2);
    const s = f.raft.storage;
    expect(s.term(lastIdx + 1)).toBe(term + 1);
    expect(f.raft.log.unstable.entries).toEqual([]);
  });

  it('compact needs an applied index and drops the prefix', () => {
    const n = node(1, MemoryLogStorage.bootstrap([1]));
    n.advance(n.ready());
    n.campaign();
    for (let i = 0; i < 3; i++) while (n.hasReady()) n.advance(n.ready());
    n.propose(enc.encode('x'));
    while (n.hasReady()) n.advance(n.ready());
    const st = n.status();
    expect(() => n.compact(st.applied + 1, new Uint8Array(), st.confState)).toThrow(AssertionFailure);
    n.compact(st.applied, enc.encode('state'), st.confState);
    expect(n.status().firstIndex).toBe(st.applied + 1);
  });
});

describe('Prng', () => {
  it('is deterministic and splittable', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const xs = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(xs);
    const c = new Prng(42).split();
    const d = new Prng(42).split();
    expect(c.int(1000)).toBe(d.int(1000));
    expect(new Prng(43).nextU32()).not.toBe(new Prng(42).nextU32());
    const p = new Prng(7);
    for (let i = 0; i < 1000; i++) {
      const v = p.range(3, 5);
      expect(v).toBeGreaterThanOrEqual(3);
      expect(v).toBeLessThanOrEqual(5);
    }
  });
});
