/**
 * The node layer's session duties with an injected clock (no timers: the test calls tick()
 * and flush()): expiry by the leader alone, keepalives, a new leader restarting every clock,
 * a follower's batched keepalives, holds (WebSocket), never resurrecting a session, and the
 * sweep of container and TTL znodes (throttled).
 */
import type { SessionId, TreeEvent } from '../../src/core/types.js';
import { LocalLog } from '../../src/log/local-log.js';
import type { CommittedEntry, LogStatus, ReplicatedLog } from '../../src/log/replicated-log.js';
import { Member } from '../../src/node/member.js';
import { systemClock, type Clock } from '../../src/util/clock.js';
import { SessionService, leaderlessHoldLimitMs, randomSessionId, type KeepaliveForwarder, type SessionServiceOptions } from '../../src/node/session-service.js';

const EMPTY = new Uint8Array(0);

/** Time the test moves by hand; timers (a write's request timeout) stay the system's. */
class FakeClock implements Clock {
  constructor(public now = 1_700_000_000_000) {}
  nowMs(): number {
    return this.now;
  }
  monoMs(): number {
    return this.now;
  }
  readonly setTimeout = systemClock.setTimeout;
  readonly setInterval = systemClock.setInterval;
  readonly yieldTurn = systemClock.yieldTurn;
}

/** A LocalLog whose role (as status() reports it) the test sets. */
class RoleLog implements ReplicatedLog {
  private readonly inner = new LocalLog();
  role: LogStatus['role'] = 'leader';
  term = 1;
  /** A follower (or candidate) that knows no leader. */
  leaderless = false;
  propose(data: Uint8Array): Promise<void> {
    return this.inner.propose(data);
  }
  readIndex(): Promise<number> {
    return this.inner.readIndex();
  }
  onCommit(handler: (entries: CommittedEntry[]) => void): void {
    this.inner.onCommit(handler);
  }
  saveSnapshot(index: number, data: Uint8Array): Promise<void> {
    return this.inner.saveSnapshot(index, data);
  }
  status(): LogStatus {
    return { ...this.inner.status(), role: this.role, term: this.term, leaderId: this.role === 'leader' ? 1 : this.leaderless ? null : 2 };
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Rig {
  clock: FakeClock;
  log: RoleLog;
  member: Member;
  svc: SessionService;
  events: TreeEvent[];
  /** Advances the clock by `ms`, runs the leader's tick, and lets proposed entries apply. */
  advance(ms: number): Promise<void>;
  settle(): Promise<void>;
  close(): Promise<void>;
}

async function rig(opts: Partial<SessionServiceOptions> = {}): Promise<Rig> {
  const clock = new FakeClock();
  const log = new RoleLog();
  const member = new Member(log, {}, clock);
  const svc = new SessionService(member, { checkIntervalMs: 10, minTimeoutMs: 100, ...opts }, clock);
  const events: TreeEvent[] = [];
  // Type and path only: test/tree/acl.test.ts checks the events' ACLs.
  member.onApply((_z, ev) => events.push(...ev.map(({ type, path }) => ({ type, path }))));
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };
  return {
    clock,
    log,
    member,
    svc,
    events,
    settle,
    async advance(ms: number) {
      clock.now += ms;
      svc.tick();
      await settle();
    },
    async close() {
      svc.stop();
      await member.close();
    },
  };
}

async function ephemeral(r: Rig, path: string, owner: SessionId): Promise<void> {
  const a = await r.member.write({ op: 'create', path, data: EMPTY, mode: 'ephemeral', owner });
  expect(a.outcome.ok).toBe(true);
}

let r: Rig;
afterEach(async () => r?.close());

describe('expiry by the leader', () => {
  test('a session with no keepalive for its timeout is closed as expired, its ephemerals with it', async () => {
    r = await rig();
    await r.advance(0);
    const s = await r.svc.create(1000);
    expect(s.timeoutMs).toBe(1000);
    await ephemeral(r, '/e', s.id);
    await r.advance(990);
    expect(r.member.sessions.isOpen(s.id)).toBe(true);
    await r.advance(10);
    expect(r.member.sessions.isOpen(s.id)).toBe(false);
    expect(r.member.tree.has('/e')).toBe(false);
    expect(r.events).toContainEqual({ type: 'NodeDeleted', path: '/e' });
    expect(r.member.sessions.stats.expired).toBe(1);
    expect(r.svc.stats.expiriesProposed).toBe(1);
    await expect(r.svc.keepalive(s.id)).rejects.toMatchObject({ code: 'SessionExpired' });
  });

  test('keepalives keep a session open for as long as they come, then it expires one timeout after the last', async () => {
    r = await rig();
    await r.advance(0);
    const s = await r.svc.create(500);
    for (let i = 0; i < 20; i++) {
      await r.advance(200);
      await r.svc.keepalive(s.id);
    }
    await r.advance(490);
    expect(r.member.sessions.isOpen(s.id)).toBe(true);
    await r.advance(20);
    expect(r.member.sessions.isOpen(s.id)).toBe(false);
  });

  test('timeouts are clamped to the bounds; the default applies without one', async () => {
    r = await rig({ minTimeoutMs: 1000, maxTimeoutMs: 60_000, defaultTimeoutMs: 10_000 });
    expect((await r.svc.create(1)).timeoutMs).toBe(1000);
    expect((await r.svc.create(10 ** 9)).timeoutMs).toBe(60_000);
    expect((await r.svc.create()).timeoutMs).toBe(10_000);
    expect((await r.svc.create(1234.9)).timeoutMs).toBe(1234);
    expect(() => new SessionService(r.member, { minTimeoutMs: 5, maxTimeoutMs: 4 })).toThrow(/bounds/);
  });

  test('a follower never expires anything; a new leader restarts every clock at now + timeout', async () => {
    r = await rig();
    await r.advance(0);
    const s = await r.svc.create(1000);
    r.log.role = 'follower';
    await r.advance(5000);
    expect(r.member.sessions.isOpen(s.id)).toBe(true);
    // Leader again (a new term): the clock starts afresh, whatever happened before.
    r.log.role = 'leader';
    r.log.term = 2;
    await r.advance(0);
    expect(r.svc.stats.leaderTerms).toBe(2);
    await r.advance(990);
    expect(r.member.sessions.isOpen(s.id)).toBe(true);
    await r.advance(20);
    expect(r.member.sessions.isOpen(s.id)).toBe(false);
  });

  test('a keepalive for a session whose expiry is in flight is 410: never resurrected', async () => {
    r = await rig();
    await r.advance(0);
    const s = await r.svc.create(100);
    r.clock.now += 200;
    r.svc.tick(); // proposes the expiry; not applied yet
    await expect(r.svc.keepalive(s.id)).rejects.toMatchObject({ code: 'SessionExpired' });
    await r.settle();
    expect(r.member.sessions.isOpen(s.id)).toBe(false);
  });

  test('closing a session removes it from the clock; closing twice is SessionExpired', async () => {
    r = await rig();
    await r.advance(0);
    const s = await r.svc.create(100);
    await ephemeral(r, '/a', s.id);
    await ephemeral(r, '/b', s.id);
    const closed = await r.svc.close(s.id);
    expect(closed.deleted).toEqual(['/a', '/b']);
    await expect(r.svc.close(s.id)).rejects.toMatchObject({ code: 'SessionExpired' });
    await r.advance(1000);
    expect(r.svc.stats.expiriesProposed).toBe(0);
    expect(r.member.sessions.stats).toEqual({ created: 1, closed: 1, expired: 0 });
  });

  test('ids are 63-bit, non-zero and differ', () => {
    const seen = new Set<SessionId>();
    for (let i = 0; i < 1000; i++) {
      const id = randomSessionId();
      expect(id > 0n && id < 1n << 63n).toBe(true);
      seen.add(id);
    }
    expect(seen.size).toBe(1000);
  });
});

describe('keepalives on a follower go to the leader in batches', () => {
  test('one message per flush with every session touched since the last, each once', async () => {
    r = await rig();
    const a = await r.svc.create(1000);
    const b = await r.svc.create(1000);
    r.log.role = 'follower';
    const batches: SessionId[][] = [];
    const forwarder: KeepaliveForwarder = { forward: (ids) => (batches.push([...ids].sort()), true) };
    r.svc.setForwarder(forwarder);
    for (let i = 0; i < 50; i++) {
      await r.svc.keepalive(a.id);
      await r.svc.keepalive(b.id);
    }
    r.svc.flush();
    r.svc.flush(); // nothing new: no message
    expect(batches).toEqual([[a.id, b.id].sort()]);
    expect(r.svc.stats).toMatchObject({ forwardedBatches: 1, forwardedIds: 2 });
    // Unknown ids are refused locally (after a read barrier), never forwarded.
    await expect(r.svc.keepalive(12345n)).rejects.toMatchObject({ code: 'SessionExpired' });
    r.svc.flush();
    expect(batches).toHaveLength(1);
  });

  test('the leader moves the clocks of the ids it receives', async () => {
    r = await rig();
    await r.advance(0);
    const s = await r.svc.create(1000);
    for (let i = 0; i < 10; i++) {
      await r.advance(500);
      r.svc.receiveKeepalives([s.id, 999n]);
    }
    expect(r.member.sessions.isOpen(s.id)).toBe(true);
    expect(r.svc.stats.receivedIds).toBe(20);
    await r.advance(1010);
    expect(r.member.sessions.isOpen(s.id)).toBe(false);
  });
});

describe('a mass expiry', () => {
  test('sessions that find every proposal slot taken expire as slots free, not a tick later; a keepalive meanwhile still saves one', async () => {
    r = await rig({ maxProposalsInFlight: 2, checkIntervalMs: 1000 });
    await r.advance(0);
    const ids: SessionId[] = [];
    for (let i = 0; i < 10; i++) ids.push((await r.svc.create(3000)).id);
    await r.advance(2000);
    // The tick takes due sessions in id order: the largest is surely among the queued.
    const saved = ids.reduce((a, b) => (a > b ? a : b));
    // All ten are due in the same tick; two slots. The tick proposes two and queues eight.
    r.clock.now += 1500;
    r.svc.tick();
    await r.svc.keepalive(saved);
    await r.settle();
    // No other tick ran (the next is 1 s away): the queued ones went as slots freed.
    expect(ids.filter((id) => id !== saved && r.member.sessions.isOpen(id))).toEqual([]);
    expect(r.member.sessions.isOpen(saved)).toBe(true);
    expect(r.svc.stats.expiriesProposed).toBe(9);
  });
});

describe('holds (a WebSocket bound to a session)', () => {
  test('a held session stays open without keepalives; after release it expires one timeout later', async () => {
    r = await rig({ forwardIntervalMs: 50 });
    await r.advance(0);
    const s = await r.svc.create(300);
    const release = r.svc.hold({ id: s.id, timeoutMs: 300 });
    const release2 = r.svc.hold({ id: s.id, timeoutMs: 300 });
    for (let i = 0; i < 40; i++) {
      r.svc.flush();
      await r.advance(50);
    }
    expect(r.member.sessions.isOpen(s.id)).toBe(true);
    release();
    release(); // idempotent
    for (let i = 0; i < 20; i++) {
      r.svc.flush();
      await r.advance(50);
    }
    expect(r.member.sessions.isOpen(s.id)).toBe(true);
    expect(r.svc.heldCount).toBe(1);
    release2();
    expect(r.svc.heldCount).toBe(0);
    // The last keepalive of the hold was at most a third of the timeout ago.
    await r.advance(190);
    expect(r.member.sessions.isOpen(s.id)).toBe(true);
    await r.advance(130);
    expect(r.member.sessions.isOpen(s.id)).toBe(false);
  });
});

describe('a holder on a member that knows no leader', () => {
  test('is sent elsewhere after a third of its timeout (at least 1 s) without a leader, once; not during a short election', async () => {
    r = await rig({ forwardIntervalMs: 50 });
    await r.advance(0);
    const s = await r.svc.create(6000);
    const short = await r.svc.create(1200);
    // The forwarding timer's work, every 50 ms for `ms`.
    const flushFor = (ms: number): void => {
      for (let t = 0; t < ms; t += 50) {
        r.clock.now += 50;
        r.svc.flush();
      }
    };
    let away = 0;
    let awayShort = 0;
    const release = r.svc.hold({ id: s.id, timeoutMs: 6000 }, () => away++);
    r.svc.hold({ id: short.id, timeoutMs: 1200 }, () => awayShort++);
    expect(leaderlessHoldLimitMs(6000)).toBe(2000);
    expect(leaderlessHoldLimitMs(1200)).toBe(1000);
    // A follower that knows its leader: nothing, however long.
    r.log.role = 'follower';
    flushFor(5000);
    expect([away, awayShort]).toEqual([0, 0]);
    // An election: 900 ms without a leader, then one again. Nobody is sent away, and the
    // leaderless time starts afresh.
    r.log.leaderless = true;
    flushFor(900);
    r.log.leaderless = false;
    r.svc.flush();
    r.log.leaderless = true;
    flushFor(900);
    expect([away, awayShort]).toEqual([0, 0]);
    // Cut off for good: the 1.2 s session's holder goes after 1 s, the 6 s one's after 2 s, each once.
    flushFor(200);
    expect([away, awayShort]).toEqual([0, 1]);
    flushFor(1000);
    expect([away, awayShort]).toEqual([1, 1]);
    flushFor(2000);
    expect([away, awayShort]).toEqual([1, 1]);
    expect(r.svc.stats.holdersSentAway).toBe(2);
    // A released holder is never told.
    let late = 0;
    const release3 = r.svc.hold({ id: s.id, timeoutMs: 6000 }, () => late++);
    release3();
    release();
    flushFor(3000);
    expect(late).toBe(0);
  });
});

describe('the sweep of containers and TTL znodes', () => {
  test('every reaperIntervalMs, due znodes are reaped as conditional entries; watchers see NodeDeleted', async () => {
    r = await rig({ reaperIntervalMs: 1000 });
    await r.advance(0);
    const w = (op: Parameters<Member['write']>[0]) => r.member.write(op);
    await w({ op: 'create', path: '/box', data: EMPTY, mode: 'container' });
    await w({ op: 'create', path: '/box/x', data: EMPTY, mode: 'persistent' });
    await w({ op: 'delete', path: '/box/x', version: -1 });
    await w({ op: 'create', path: '/never', data: EMPTY, mode: 'container' });
    await w({ op: 'create', path: '/ttl', data: EMPTY, mode: 'persistent_with_ttl', ttl: 500 });
    await w({ op: 'create', path: '/long', data: EMPTY, mode: 'persistent_with_ttl', ttl: 5000 });
    await r.advance(990);
    expect(r.member.tree.has('/box')).toBe(true);
    await r.advance(10);
    await r.settle();
    expect(r.member.tree.has('/box')).toBe(false);
    expect(r.member.tree.has('/ttl')).toBe(false);
    expect(r.member.tree.has('/never')).toBe(true);
    expect(r.member.tree.has('/long')).toBe(true);
    expect(r.events).toEqual(expect.arrayContaining([
      { type: 'NodeDeleted', path: '/box' },
      { type: 'NodeDeleted', path: '/ttl' },
    ]));
    expect(r.svc.stats.reaped).toBe(2);
    // The TTL is judged against the last data change.
    await w({ op: 'set', path: '/long', data: EMPTY, version: -1 });
    await r.advance(4500);
    expect(r.member.tree.has('/long')).toBe(true);
    await r.advance(1000);
    await r.settle();
    expect(r.member.tree.has('/long')).toBe(false);
  });

  test('throttled: at most the per-sweep share of reaperMaxPerMinute', async () => {
    r = await rig({ reaperIntervalMs: 6000, reaperMaxPerMinute: 30 });
    expect(r.svc.reapsPerSweep).toBe(3);
    await r.advance(0);
    for (let i = 0; i < 5; i++) await r.member.write({ op: 'create', path: `/t${i}`, data: EMPTY, mode: 'persistent_with_ttl', ttl: 1 });
    await r.advance(6000);
    await r.settle();
    expect(r.member.tree.children('/')!.filter((n) => n.startsWith('t'))).toHaveLength(2);
    await r.advance(6000);
    await r.settle();
    expect(r.member.tree.children('/')!.filter((n) => n.startsWith('t'))).toHaveLength(0);
  });

  test('only the leader sweeps', async () => {
    r = await rig({ reaperIntervalMs: 100 });
    await r.member.write({ op: 'create', path: '/t', data: EMPTY, mode: 'persistent_with_ttl', ttl: 1 });
    r.log.role = 'follower';
    await r.advance(1000);
    expect(await r.svc.sweep()).toEqual({ reaped: 0, proposed: 0 });
    expect(r.member.tree.has('/t')).toBe(true);
    r.log.role = 'leader';
    expect(await r.svc.sweep()).toEqual({ reaped: 1, proposed: 1 });
    expect(r.member.tree.has('/t')).toBe(false);
  });
});

describe('the leader\'s token and root-ACL duties', () => {
  const record = (accessor: string, expiresAt: number, createdAt: number) => ({
    accessor,
    hash: 'a'.repeat(64),
    ids: [{ scheme: 'digest', id: 'alice:h' }],
    readOnly: false,
    description: '',
    cookie: false,
    owner: '[["digest","alice:h"]]',
    createdBy: [{ scheme: 'digest', id: 'alice:h' }],
    createdAt,
    expiresAt,
  });

  test('expired tokens are removed by an expireTokens entry of the leader, only once expired by entry time', async () => {
    r = await rig();
    await r.advance(0);
    const now = r.clock.now;
    const a = await r.member.write({ op: 'createToken', record: record('A'.repeat(21) + 'A', now + 2_000, now) });
    expect(a.outcome.ok).toBe(true);
    const b = await r.member.write({ op: 'createToken', record: record('B'.repeat(21) + 'A', now + 60_000, now) });
    expect(b.outcome.ok).toBe(true);
    await r.advance(1_500);
    expect(r.member.tokens.size).toBe(2);
    await r.advance(1_000);
    await r.settle();
    expect(r.member.tokens.get('A'.repeat(21) + 'A')).toBeUndefined();
    expect(r.member.tokens.get('B'.repeat(21) + 'A')).toBeDefined();
  });

  test('a follower proposes nothing', async () => {
    r = await rig();
    r.log.role = 'follower';
    const now = r.clock.now;
    await r.member.write({ op: 'createToken', record: record('C'.repeat(21) + 'A', now + 1_000, now) });
    await r.advance(5_000);
    expect(r.member.tokens.size).toBe(1);
  });

  test('--root-acl: the leader sets / once, at ACL version 0; an operator\'s own setACL is left alone', async () => {
    const acl = [{ perms: 1, scheme: 'world', id: 'anyone' }];
    r = await rig({ rootAcl: acl });
    await r.advance(0);
    await r.advance(10);
    expect(r.member.tree.aclOf('/')).toMatchObject({ acl, stat: { aversion: 1 } });
    await r.advance(10);
    expect(r.member.tree.aclOf('/')!.stat.aversion).toBe(1);
  });
});
