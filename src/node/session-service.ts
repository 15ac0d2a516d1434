/**
 * Sessions on one member: what the API asks (create, keepalive, look up, close, hold a
 * session for a WebSocket) and, while this member is the leader, the duties that drive time:
 * the expiry clock and the sweep of container and TTL znodes.
 *
 * Replicated state lives in the member (SessionTable, applied with the tree); everything here
 * is local and soft:
 *
 * - Ids: 63 random bits from the CSPRNG (crypto.randomBytes), so an id is an unguessable
 *   bearer token; the createSession entry carries it and apply refuses one that is open or
 *   recently closed, and we retry with another. A collision among live sessions is about
 *   n²/2^64, so the retry is for correctness, not for load.
 * - Liveness: only the leader keeps deadlines (session/expiry.ts). It learns of sessions as
 *   their entries apply and, on becoming leader, restarts every clock at now + timeout
 *   (ZooKeeper), so a leader change never expires a session that is being kept alive. A
 *   session past its deadline is closed by proposing closeSession {reason: 'expired'}.
 * - Keepalives may reach any member. The leader touches its clock at once; a follower collects
 *   the ids it was asked about and passes them to the leader in one batch per
 *   `forwardIntervalMs` (KeepaliveForwarder, implemented by the cluster runtime over its peer
 *   links), so the traffic between members is one small message per interval, not one per
 *   keepalive.
 * - Held sessions (a WebSocket bound to one) are kept alive by this member, every third of
 *   their timeout, while the socket holds them.
 * - The leader's sweep, every `reaperIntervalMs`: container and TTL znodes due by ZooKeeper's
 *   rules become conditional `reap` entries, at most the per-sweep share of
 *   `reaperMaxPerMinute` (znode.container.maxPerMinute); orphan ephemerals are closed too.
 */
import { aclKey, type Access, type Acl, type Id } from '../core/acl.js';
import { randomBytes } from 'node:crypto';
import { ZgateError } from '../core/errors.js';
import type { Op, SessionId, Zxid } from '../core/types.js';
import { ExpiryTracker, sweep, MAX_SESSION_ID, type SessionInfo } from '../session/index.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import type { Member, WriteAnswer } from './member.js';

/** How a follower passes keepalives to the leader; the cluster runtime implements it over its peer links. */
export interface KeepaliveForwarder {
  /**
   * Sends the ids to the current leader in one message. False when it could not (no leader
   * known, link down, queue full): the ids are dropped, as a lost ping is in ZooKeeper (the
   * client's next keepalive, well within its timeout, tries again).
   */
  forward(ids: SessionId[]): boolean;
}

export interface SessionServiceOptions {
  /** Bounds a requested timeout is clamped to (ZooKeeper: minSessionTimeout, maxSessionTimeout). */
  minTimeoutMs: number;
  maxTimeoutMs: number;
  /** The timeout of a session created without one (clamped too). */
  defaultTimeoutMs: number;
  /** The leader's expiry check: how often, and the granularity of its deadlines. */
  checkIntervalMs: number;
  /** A follower's batch of keepalives goes to the leader at most this often. */
  forwardIntervalMs: number;
  /** The leader's sweep of container and TTL znodes (ZooKeeper's znode.container.checkIntervalMs). */
  reaperIntervalMs: number;
  /** Throttle of that sweep (ZooKeeper's znode.container.maxPerMinute). */
  reaperMaxPerMinute: number;
  /** closeSession / reap entries the leader has in flight at once. */
  maxProposalsInFlight: number;
  /** How many times a create retries after an id collision. */
  idAttempts: number;
  /** The ACL a new tree's `/` gets (--root-acl); undefined: ZooKeeper's world:anyone:cdrwa, left as is. */
  rootAcl: Acl[] | undefined;
}

export const DEFAULT_SESSION_OPTIONS: SessionServiceOptions = {
  minTimeoutMs: 1_000,
  maxTimeoutMs: 60_000,
  defaultTimeoutMs: 10_000,
  checkIntervalMs: 100,
  forwardIntervalMs: 100,
  reaperIntervalMs: 60_000,
  reaperMaxPerMinute: 10_000,
  maxProposalsInFlight: 256,
  idAttempts: 5,
  rootAcl: undefined,
};

/** Plain counters, read by the Prometheus collectors. */
export interface SessionServiceStats {
  /** Keepalive ids this member sent to the leader, and in how many batches. */
  forwardedIds: number;
  forwardedBatches: number;
  forwardFailures: number;
  /** Keepalive ids the leader received from followers. */
  receivedIds: number;
  /** closeSession {expired} entries this member proposed as leader. */
  expiriesProposed: number;
  /** reap entries proposed as leader, and how many deleted a znode. */
  reapsProposed: number;
  reaped: number;
  leaderTerms: number;
  /** Holders (bound WebSockets) told to go to another member: no leader known here for too long. */
  holdersSentAway: number;
}

interface Held {
  count: number;
  timeoutMs: number;
  next: number;
  /** Told when this member has had no leader long enough that the holders should go elsewhere. */
  onLeaderLost: Set<() => void>;
}

/**
 * A holder is told to go elsewhere after this long without a leader known here: a third of its
 * session's timeout (it then has two thirds to reach another member), but never within one
 * second, so that an ordinary election does not make every socket reconnect.
 */
export function leaderlessHoldLimitMs(timeoutMs: number): number {
  return Math.max(1000, Math.floor(timeoutMs / 3));
}

/** A fresh 63-bit id, never 0. */
export function randomSessionId(): SessionId {
  for (;;) {
    const id = randomBytes(8).readBigUInt64BE() & MAX_SESSION_ID;
    if (id !== 0n) return id;
  }
}

export class SessionService {
  readonly opts: SessionServiceOptions;
  private readonly tracker: ExpiryTracker;
  /** Sessions whose expiry is proposed and not applied yet (keepalives for them answer 410). */
  private readonly expiring = new Set<SessionId>();
  private readonly pending = new Set<SessionId>();
  private readonly held = new Map<SessionId, Held>();
  /** Due sessions that found every proposal slot taken, with the deadline they were given then. */
  private readonly waiting = new Map<SessionId, number>();
  /** Since when this member has known no leader (undefined: it knows one). */
  private leaderlessSince: number | undefined;
  private forwarder: KeepaliveForwarder | undefined;
  private leading = false;
  private term = -1;
  private inFlight = 0;
  private sweeping = false;
  private ticks = 0;
  private lastSweep = 0;
  private timers: TimerHandle[] = [];
  private stopped = false;
  readonly stats: SessionServiceStats = { forwardedIds: 0, forwardedBatches: 0, forwardFailures: 0, receivedIds: 0, expiriesProposed: 0, reapsProposed: 0, reaped: 0, leaderTerms: 0, holdersSentAway: 0 };

  constructor(
    private readonly member: Member,
    opts: Partial<SessionServiceOptions> = {},
    private readonly clock: Clock = systemClock,
    private readonly onError: (err: unknown, what: string) => void = () => undefined,
  ) {
    this.opts = { ...DEFAULT_SESSION_OPTIONS, ...opts };
    const o = this.opts;
    if (!(o.minTimeoutMs >= 1 && o.minTimeoutMs <= o.maxTimeoutMs)) {
      throw new ZgateError('BadArguments', `session timeout bounds must satisfy 1 <= min (${o.minTimeoutMs}) <= max (${o.maxTimeoutMs})`);
    }
    this.tracker = new ExpiryTracker(Math.max(1, o.checkIntervalMs));
    member.onApply((_zxid, _events, outcome) => {
      if (this.stopped || !outcome.ok) return;
      const r = outcome.result;
      if (r.op === 'createSession') {
        if (this.leading) this.tracker.add(r.id, r.timeoutMs, this.clock.nowMs());
      } else if (r.op === 'closeSession') {
        this.tracker.remove(r.id);
        this.expiring.delete(r.id);
        this.pending.delete(r.id);
      }
    });
  }

  /** The cluster runtime's link to the leader; absent on a member running alone (always its own leader). */
  setForwarder(forwarder: KeepaliveForwarder | undefined): void {
    this.forwarder = forwarder;
  }

  start(): void {
    if (this.timers.length > 0 || this.stopped) return;
    const every = (ms: number, fn: () => void): void => {
      const t = this.clock.setInterval(() => {
        try {
          fn();
        } catch (e) {
          this.onError(e, 'session duty');
        }
      }, ms);
      this.timers.push(t);
    };
    every(this.opts.checkIntervalMs, () => this.tick());
    every(this.opts.forwardIntervalMs, () => this.flush());
    this.lastSweep = this.clock.nowMs();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    this.tracker.clear();
    this.pending.clear();
    this.held.clear();
  }

  /** Whether this member currently drives time (leader, recovered). */
  get isLeader(): boolean {
    return this.member.ready && this.member.status().role === 'leader';
  }

  clamp(timeoutMs: number | undefined): number {
    const t = timeoutMs ?? this.opts.defaultTimeoutMs;
    return Math.min(this.opts.maxTimeoutMs, Math.max(this.opts.minTimeoutMs, Math.floor(t)));
  }

  // ---------------------------------------------------------------- the API's requests

  /** Opens a session with the timeout clamped to the bounds; answers once it applied here. */
  async create(timeoutMs?: number, owner: Id[] = []): Promise<{ id: SessionId; timeoutMs: number; zxid: Zxid }> {
    const granted = this.clamp(timeoutMs);
    for (let attempt = 0; attempt < this.opts.idAttempts; attempt++) {
      const id = randomSessionId();
      const answer = await this.member.write(owner.length === 0 ? { op: 'createSession', id, timeoutMs: granted } : { op: 'createSession', id, timeoutMs: granted, owner });
      if (answer.outcome.ok) return { id, timeoutMs: granted, zxid: answer.zxid };
      if (answer.outcome.failure.code !== 'NodeExists') throw new ZgateError(answer.outcome.failure.code, answer.outcome.failure.message);
    }
    throw new ZgateError('Unavailable', `no free session id after ${this.opts.idAttempts} attempts; retry`);
  }

  /**
   * The session as this member knows it; for an id it does not know, it first catches up
   * with the leader's commit index (a read barrier), so that 410 is never an artefact of a
   * member that is behind (the client may have created the session through another member).
   */
  async lookup(id: SessionId): Promise<SessionInfo> {
    this.member.assertReadable();
    let info = this.member.sessions.get(id);
    if (info === undefined) {
      await this.member.linearizableBarrier(this.opts.maxTimeoutMs);
      info = this.member.sessions.get(id);
    }
    if (info === undefined || this.expiring.has(id)) throw expired(id);
    return info;
  }

  /** A keepalive: 410 for an id that is not open (never resurrected); otherwise the leader's clock moves. */
  async keepalive(id: SessionId): Promise<SessionInfo> {
    const info = await this.lookup(id);
    this.touch(id);
    return info;
  }

  /** Closes the session; its ephemerals go in the same entry. SessionExpired if it is not open. */
  async close(id: SessionId, access?: Access): Promise<WriteAnswer & { deleted: string[] }> {
    const answer = await this.member.write({ op: 'closeSession', id, reason: 'closed' }, undefined, access);
    if (!answer.outcome.ok) throw new ZgateError(answer.outcome.failure.code, answer.outcome.failure.message);
    const r = answer.outcome.result;
    return { ...answer, deleted: r.op === 'closeSession' ? r.deleted : [] };
  }

  /** The owner of an ephemeral create: the session must be open (410 otherwise). */
  async ownerFor(id: SessionId): Promise<SessionId> {
    await this.lookup(id);
    return id;
  }

  /**
   * Keeps a session alive from this member until the returned release() (a WebSocket bound
   * to it): a keepalive every third of its timeout. Several holders may share a session.
   */
  hold(info: { id: SessionId; timeoutMs: number }, onLeaderLost?: () => void): () => void {
    let h = this.held.get(info.id);
    if (h !== undefined) h.count++;
    else {
      h = { count: 1, timeoutMs: info.timeoutMs, next: this.clock.nowMs(), onLeaderLost: new Set() };
      this.held.set(info.id, h);
    }
    if (onLeaderLost !== undefined) h.onLeaderLost.add(onLeaderLost);
    this.touch(info.id);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const cur = this.held.get(info.id);
      if (cur === undefined) return;
      if (onLeaderLost !== undefined) cur.onLeaderLost.delete(onLeaderLost);
      if (--cur.count <= 0) this.held.delete(info.id);
    };
  }

  /**
   * A member cut off from the leader would keep its held sessions' sockets happy while their
   * keepalives reach nobody, and the sessions would expire under clients that never noticed.
   * ZooKeeper's servers drop their clients when they lose the quorum; here the holders are
   * told, once this member has known no leader for leaderlessHoldLimitMs of their timeout.
   */
  private checkLeaderless(now: number): void {
    const leaderKnown = this.member.ready && this.member.status().leaderId !== null;
    if (leaderKnown) {
      this.leaderlessSince = undefined;
      return;
    }
    this.leaderlessSince ??= now;
    for (const h of this.held.values()) {
      if (h.onLeaderLost.size === 0 || now - this.leaderlessSince < leaderlessHoldLimitMs(h.timeoutMs)) continue;
      const told = [...h.onLeaderLost];
      h.onLeaderLost.clear();
      this.stats.holdersSentAway += told.length;
      for (const fn of told) fn();
    }
  }

  get heldCount(): number {
    return this.held.size;
  }

  /** Keepalives a follower forwarded to this member (the leader): each moves its session's clock. */
  receiveKeepalives(ids: readonly SessionId[]): void {
    if (this.stopped) return;
    this.stats.receivedIds += ids.length;
    if (!this.isLeader) return;
    const now = this.clock.nowMs();
    for (const id of ids) this.tracker.touch(id, now);
  }

  // ---------------------------------------------------------------- liveness

  private touch(id: SessionId): void {
    if (this.isLeader) {
      this.tracker.touch(id, this.clock.nowMs());
      return;
    }
    this.pending.add(id);
  }

  /**
   * Every forwardIntervalMs (start()'s timer; tests call it with a fake clock): keepalives
   * for held sessions that are due one, then a follower's batch of keepalives to the leader.
   */
  flush(): void {
    const now = this.clock.nowMs();
    this.checkLeaderless(now);
    for (const [id, h] of this.held) {
      if (h.next > now) continue;
      h.next = now + Math.max(this.opts.forwardIntervalMs, Math.floor(h.timeoutMs / 3));
      if (this.member.sessions.isOpen(id)) this.touch(id);
    }
    if (this.pending.size === 0) return;
    const ids = [...this.pending];
    this.pending.clear();
    if (this.isLeader) {
      // Became leader since they were queued.
      for (const id of ids) this.tracker.touch(id, now);
      return;
    }
    if (this.forwarder === undefined) return;
    this.stats.forwardedBatches++;
    this.stats.forwardedIds += ids.length;
    if (!this.forwarder.forward(ids)) this.stats.forwardFailures++;
  }

  /**
   * Every checkIntervalMs (start()'s timer; tests call it with a fake clock): if this member
   * leads, expire the sessions past their deadline and, every reaperIntervalMs, sweep.
   */
  tick(): void {
    const now = this.clock.nowMs();
    const s = this.member.status();
    if (!this.member.ready || s.role !== 'leader') {
      if (this.leading) {
        this.leading = false;
        this.tracker.clear();
        this.expiring.clear();
        this.waiting.clear();
      }
      return;
    }
    if (!this.leading || s.term !== this.term) {
      // A new leader: every session's clock starts afresh (ZooKeeper), so none expires because the old leader died.
      this.leading = true;
      this.term = s.term;
      this.stats.leaderTerms++;
      this.tracker.clear();
      this.expiring.clear();
      this.waiting.clear();
      this.lastSweep = now;
    }
    this.resync(now);
    for (const id of this.tracker.due(now)) {
      if (!this.member.sessions.isOpen(id)) continue;
      this.expire(id, now);
    }
    if (now - this.lastSweep >= this.opts.reaperIntervalMs) {
      this.lastSweep = now;
      this.sweep(now).catch((e: unknown) => this.onError(e, 'the sweep'));
    }
    this.reapTokens(now);
    this.initRootAcl();
  }

  private rootAclState: 'pending' | 'inFlight' | 'done' = 'pending';

  /**
   * The leader gives a new tree's `/` the --root-acl, once: a setACL at ACL version 0, so that
   * only the first applies (every member may have led once) and a root whose ACL an operator
   * already set (aversion > 0) is left alone.
   */
  private initRootAcl(): void {
    const acl = this.opts.rootAcl;
    if (acl === undefined || this.rootAclState !== 'pending') return;
    const root = this.member.tree.aclOf('/')!;
    if (root.stat.aversion !== 0 || aclKey(root.acl) === aclKey(acl)) {
      this.rootAclState = 'done';
      return;
    }
    this.rootAclState = 'inFlight';
    this.propose({ op: 'setAcl', path: '/', acl, version: 0 })
      .then((a) => {
        this.rootAclState = a.outcome.ok || a.outcome.failure.code === 'BadVersion' ? 'done' : 'pending';
      })
      .catch((e: unknown) => {
        this.rootAclState = 'pending';
        this.onError(e, 'setting the root ACL');
      });
  }

  private tokenReapInFlight = false;
  private lastTokenReap = 0;

  /**
   * The leader removes expired tokens (about once a second, one entry of at most a thousand
   * at a time), so that their sockets close and the audit log records each expiry; apply
   * removes only those expired at the entry's time.
   */
  private reapTokens(now: number): void {
    if (this.tokenReapInFlight || now - this.lastTokenReap < 1000) return;
    this.lastTokenReap = now;
    const due = this.member.tokens.expiredAt(now, 1000);
    if (due.length === 0) return;
    this.tokenReapInFlight = true;
    this.propose({ op: 'expireTokens', accessors: due })
      .catch((e: unknown) => this.onError(e, 'expiring tokens'))
      .finally(() => {
        this.tokenReapInFlight = false;
      });
  }

  /**
   * Keeps the clock's sessions those of the table: open but untracked ones (just became
   * leader, a snapshot replaced the table) start their clock now; closed ones are forgotten.
   * Applied entries keep them in step otherwise, so the full pass runs when the counts differ
   * and, as a safety net, every 50 ticks.
   */
  private resync(now: number): void {
    const table = this.member.sessions;
    if (++this.ticks % 50 !== 0 && this.tracker.size + this.expiring.size === table.size) return;
    for (const id of [...this.expiring]) if (!table.isOpen(id)) this.expiring.delete(id);
    for (const id of this.tracker.ids()) if (!table.isOpen(id)) this.tracker.remove(id);
    for (const info of table.list()) {
      if (!this.tracker.has(info.id) && !this.expiring.has(info.id)) this.tracker.add(info.id, info.timeoutMs, now);
    }
  }

  private expire(id: SessionId, now: number): void {
    const info = this.member.sessions.get(id);
    if (info === undefined) return;
    if (this.inFlight >= this.opts.maxProposalsInFlight) {
      // Back in a tick, or as soon as a proposal slot frees (pumpWaiting), whichever is first:
      // waiting for the tick alone held a mass expiry to ~256 sessions per tick.
      this.tracker.add(id, info.timeoutMs, now, now + this.opts.checkIntervalMs);
      this.waiting.set(id, this.tracker.deadline(id)!);
      return;
    }
    this.expiring.add(id);
    this.stats.expiriesProposed++;
    this.propose({ op: 'closeSession', id, reason: 'expired' }).then(
      () => this.expiring.delete(id),
      () => {
        // Not applied (no longer leader, shutting down, timed out): whoever leads next decides.
        this.expiring.delete(id);
        if (this.leading && this.member.sessions.isOpen(id)) this.tracker.add(id, info.timeoutMs, now, this.clock.nowMs() + this.opts.checkIntervalMs);
      },
    );
  }

  private async propose(op: Op): Promise<WriteAnswer> {
    this.inFlight++;
    try {
      return await this.member.write(op);
    } finally {
      this.inFlight--;
      this.pumpWaiting();
    }
  }

  /**
   * Expires sessions that found every proposal slot taken, as slots free. One that had a
   * keepalive meanwhile (its deadline moved) or closed is left to the tracker, as before.
   */
  private pumpWaiting(): void {
    if (this.waiting.size === 0) return;
    if (!this.leading || this.stopped) {
      this.waiting.clear();
      return;
    }
    const now = this.clock.nowMs();
    for (const [id, dueAt] of this.waiting) {
      if (this.inFlight >= this.opts.maxProposalsInFlight) return;
      this.waiting.delete(id);
      if (this.tracker.deadline(id) !== dueAt || this.expiring.has(id) || !this.member.sessions.isOpen(id)) continue;
      this.tracker.remove(id);
      this.expire(id, now);
    }
  }

  /** Per sweep: the share of reaperMaxPerMinute for the interval (at least one). */
  get reapsPerSweep(): number {
    return Math.max(1, Math.floor((this.opts.reaperMaxPerMinute * this.opts.reaperIntervalMs) / 60_000));
  }

  /** The leader's sweep; also callable directly (tests, an operator's nudge). Resolves when its entries applied. */
  async sweep(now = this.clock.nowMs()): Promise<{ reaped: number; proposed: number }> {
    if (this.sweeping || !this.isLeader) return { reaped: 0, proposed: 0 };
    this.sweeping = true;
    try {
      const { reaps, orphans } = sweep(this.member.tree, this.member.sessions, now, this.reapsPerSweep);
      let reaped = 0;
      const ops: Op[] = [...reaps, ...orphans];
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < ops.length && this.isLeader && !this.stopped) {
          const op = ops[next++]!;
          if (op.op === 'reap') this.stats.reapsProposed++;
          try {
            const a = await this.propose(op);
            if (a.outcome.ok && op.op === 'reap') {
              reaped++;
              this.stats.reaped++;
            }
          } catch (e) {
            this.onError(e, `proposing ${op.op}`);
            return;
          }
        }
      };
      const workers = Math.min(ops.length, Math.max(1, Math.floor(this.opts.maxProposalsInFlight / 4)));
      await Promise.all(Array.from({ length: workers }, worker));
      return { reaped, proposed: next };
    } finally {
      this.sweeping = false;
    }
  }
}

function expired(id: SessionId): ZgateError {
  return new ZgateError('SessionExpired', `session ${id} is unknown, closed or expired: create a new session`);
}
