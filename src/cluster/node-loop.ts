/**
 * NodeLoop: the loop that drives one member's Raft core (raft/). A tick timer, messages from
 * the transport, and the Ready loop — persist (storage/) BEFORE sending, send, install a
 * received snapshot into the member, hand committed entries to the member in index order,
 * advance. Snapshots out: the member's snapshot is saved (with the membership as of its
 * index) and the core compacted; a MsgSnap is streamed from the snapshot file.
 *
 * - Hard state: persisted (fsync) whenever term or vote change, before the Ready's messages
 *   leave. A commit-only change is persisted lazily (at most once per second): commit is a
 *   hint, and the leader tells a restarted member again — except a commit that covers a
 *   membership change, which is persisted before the Ready's messages leave and before the
 *   core applies it. A restarted member rebuilds its configuration from the entries up to
 *   its saved commit; with a stale commit it would come back with the old configuration
 *   (found by the simulator, seed 104: a one-member cluster grown to three, its first member
 *   restarted, elected itself as the sole voter of its old configuration and committed alone).
 * - Failures: a failed disk write leaves the core and the disk disagreeing: fail-stop
 *   (`onFatal`); a restart recovers from the files.
 * - Time: every timer and clock reading goes through the injected Clock, so that the
 *   simulator (tools/sim) runs this very loop on virtual time.
 *
 * Forwarding (forwarding.ts), read index (read-index.ts) and membership changes (admin.ts)
 * hang on it through LoopHooks; raft-node.ts wires them into the member's ReplicatedLog.
 */
import { ZgateError } from '../core/errors.js';
import type { CommittedEntry } from '../log/replicated-log.js';
import { MemoryLogStorage, NONE, RawNode, committedEntriesDurable, decodeConfChange, type Entry, type HardState, type Message, type NodeId, type RaftConfig, type RaftLogger, type RandomSource, type Ready, type Role } from '../raft/index.js';
import type { LogEntry, SnapshotMeta, Storage } from '../storage/index.js';
import { assert } from '../util/assert.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { decodeRecord, fromStorageEntry, isMemberPayload, NOOP_PAYLOAD, toStorageEntry } from './entries.js';
import type { ClusterLogger } from './logger.js';
import { decodeConfig, emptyConfig, encodeConfig, Membership, type ClusterConfig } from './membership.js';
import { PeerDirectory } from './peer-directory.js';
import type { Transport } from './transport.js';

/** What storage recovered, or a bootstrap (first start of a new cluster's member). */
export interface StartState {
  hardState: HardState;
  snapshot?: { meta: SnapshotMeta; data: Uint8Array };
  entries: LogEntry[];
}

export interface LoopTiming {
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  /** Bound on a forwarded write's retries (and on an admin change). */
  requestTimeoutMs: number;
  /** Bound on a read index. */
  readTimeoutMs: number;
  /** How long a forwarded write waits for the leader's ok before answering "may or may not apply". */
  forwardAckMs: number;
}

/** What the parts hanging on the loop hear of (each called synchronously, in the loop's order). */
export interface LoopHooks {
  /** Entry (index, term) applied here (after appliedIndex moved to it). */
  entryApplied(index: number, term: number): void;
  /** A snapshot from the leader replaced the state up to `index`. */
  snapshotInstalled(index: number): void;
  /** The read whose context hex is `key` may be served once `index` has applied. */
  readState(key: string, index: number): void;
  /** The leader changed (from `prev` to loop.leader, possibly NONE). */
  leaderChanged(prev: NodeId): void;
  /** Every tick, after the core's tick. */
  tick(nowMs: number): void;
  /** The loop stopped (closed or fatal): everything pending fails with `err`. */
  stopped(err: Error): void;
}

/** Tooling's view into the loop (the simulator's checkers); never needed to run. */
export interface LoopObserver {
  /** The core handed out a Ready (before any of it is handled). */
  ready?(): void;
  /** A Ready's entries are durable and the core has advanced past them. */
  persisted?(entries: readonly Entry[]): void;
  /** A committed entry is handed to the member. */
  applied?(entry: Entry): void;
}

/** Knobs of the core beyond its timing (defaults: the core's). */
export type CoreTuning = Partial<Pick<RaftConfig, 'preVote' | 'checkQuorum' | 'maxSizePerMsg' | 'maxInflightMsgs' | 'maxInflightBytes' | 'maxUncommittedEntriesSize'>>;

export interface NodeLoopConfig {
  id: NodeId;
  storage: Storage;
  transport: Transport;
  flagPeers: ReadonlyMap<NodeId, string>;
  clock: Clock;
  logger: ClusterLogger;
  random: RandomSource;
  /** Where this run's ids of forwarded requests start: far from any other run's (random in production). */
  requestIdBase: number;
  timing: LoopTiming;
  onFatal(e: Error): void;
  observer?: LoopObserver;
  tuning?: CoreTuning;
}

export function unavailable(message: string): ZgateError {
  return new ZgateError('Unavailable', message);
}

export function ctxKey(ctx: Uint8Array): string {
  return Buffer.from(ctx).toString('hex');
}

const NO_HOOKS: LoopHooks = { entryApplied() {}, snapshotInstalled() {}, readState() {}, leaderChanged() {}, tick() {}, stopped() {} };

export class NodeLoop {
  readonly id: NodeId;
  readonly core: RawNode;
  readonly storage: Storage;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly logger: ClusterLogger;
  readonly timing: LoopTiming;
  readonly membership: Membership;
  readonly peers: PeerDirectory;
  private hooks: LoopHooks = NO_HOOKS;
  private readonly observer: LoopObserver;
  private readonly onFatal: (e: Error) => void;

  private handler: ((entries: CommittedEntry[]) => void) | undefined;
  private snapshotInstaller: ((index: number, data: Uint8Array) => void) | undefined;
  private proposalListener: ((seconds: number) => void) | undefined;
  /** Leader: when each entry it appended was proposed (for the proposal latency metric). */
  private readonly proposedAt = new Map<number, { term: number; at: number }>();
  private _applied: number;
  /** Commit index when the member started: /readyz waits until it has applied that far. */
  readonly startCommit: number;
  private savedHs: HardState;
  private lastHs: HardState;
  private hsSaving = false;
  private lastHsSaveAt = 0;
  /** Indexes of the membership changes in the log above the saved commit (see commitsConfChange). */
  private confIndexes: number[] = [];

  private processing = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;
  private ticker: TimerHandle | undefined;
  private started = false;
  private _closed = false;
  private fatalError: Error | undefined;
  private _removed = false;

  private readonly snapConfigs = new Map<number, Uint8Array>();
  private deferredCompact: { index: number; voters: number[] } | undefined;

  /** Request ids (forwards, admin) are unique across restarts: an answer meant for a previous run must match nothing. */
  private nextRid: number;
  private _leader: NodeId = NONE;
  private _leaderChanges = 0;
  private lastNoLeaderLog = 0;
  private leaderWaiters: (() => void)[] = [];

  constructor(c: NodeLoopConfig, recovered: StartState) {
    this.id = c.id;
    this.storage = c.storage;
    this.transport = c.transport;
    this.clock = c.clock;
    this.logger = c.logger;
    this.timing = c.timing;
    this.observer = c.observer ?? {};
    this.onFatal = c.onFatal;
    const state = this.cutToLog(recovered);
    const snapIndex = state.snapshot?.meta.index ?? 0;
    const snapConfig: ClusterConfig = state.snapshot ? decodeConfig(state.snapshot.meta.config) : emptyConfig();
    this.membership = new Membership(snapIndex, snapConfig);
    this.peers = new PeerDirectory(c.id, c.flagPeers, this.membership, c.transport, c.logger);
    const entries = state.entries.map(fromStorageEntry);
    for (const e of entries) if (e.type === 'confChange' && e.index > state.hardState.commit) this.confIndexes.push(e.index);
    const core = MemoryLogStorage.fromDisk({
      hardState: state.hardState,
      ...(state.snapshot ? { snapshot: { meta: { index: snapIndex, term: state.snapshot.meta.term, confState: { voters: snapConfig.voters } }, data: new Uint8Array(0) } } : {}),
      entries,
    });
    const raftLogger: RaftLogger = {
      debug: (msg) => this.logger.debug({ raft: true }, msg),
      info: (msg) => this.logger.info({ raft: true }, msg),
      warn: (msg) => this.logger.warn({ raft: true }, msg),
    };
    const t = c.timing;
    this.core = new RawNode({ ...c.tuning, id: c.id, storage: core, random: c.random, electionTick: t.electionTicks, heartbeatTick: t.heartbeatTicks, applied: snapIndex, logger: raftLogger });
    // Forwarded requests are matched to answers by id, and an answer to a request of this
    // member's previous run may still arrive: each run starts far from the others (not from
    // the wall clock, which can step back).
    this.nextRid = c.requestIdBase;
    this._applied = snapIndex;
    this.startCommit = Math.max(state.hardState.commit, snapIndex);
    this.savedHs = { ...state.hardState };
    this.lastHs = { ...state.hardState };
  }

  /** A repaired (cut) log tail: this member lost entries it had; the leader sends them again. */
  private cutToLog(state: StartState): StartState {
    const snapIndex = state.snapshot?.meta.index ?? 0;
    const lastIndex = state.entries.length > 0 ? state.entries[state.entries.length - 1]!.index : snapIndex;
    if (state.hardState.commit <= lastIndex) return state;
    this.logger.warn({ commit: state.hardState.commit, lastIndex }, 'the recovered log ends before the saved commit index (a repaired tail): catching up from the leader');
    return { ...state, hardState: { ...state.hardState, commit: lastIndex } };
  }

  setHooks(h: LoopHooks): void {
    this.hooks = h;
  }

  get applied(): number {
    return this._applied;
  }
  get leader(): NodeId {
    return this._leader;
  }
  get leaderChanges(): number {
    return this._leaderChanges;
  }
  get closed(): boolean {
    return this._closed;
  }
  get removed(): boolean {
    return this._removed;
  }

  onCommit(handler: (entries: CommittedEntry[]) => void): void {
    assert(this.handler === undefined, 'commit handler registered twice');
    this.handler = handler;
  }

  setSnapshotInstaller(fn: (index: number, data: Uint8Array) => void): void {
    this.snapshotInstaller = fn;
  }

  onProposalLatency(fn: (seconds: number) => void): void {
    this.proposalListener = fn;
  }

  nextRequestId(): number {
    return this.nextRid++;
  }

  noteProposed(index: number, term: number): void {
    if (this.proposalListener !== undefined && this.proposedAt.size < 100_000) this.proposedAt.set(index, { term, at: this.clock.monoMs() });
  }

  /** Starts the tick timer (the transport is already started). */
  start(): void {
    assert(!this.started, 'the node loop started twice');
    this.started = true;
    this.ticker = this.clock.setInterval(() => this.onTick(), this.timing.tickMs);
    this.kick();
  }

  // ---- inputs -------------------------------------------------------------------------

  /** Runs `fn` on the core; a throw is a broken invariant: fail-stop. Then handles what it produced. */
  step(fn: (core: RawNode) => void): void {
    if (this._closed) return;
    try {
      fn(this.core);
    } catch (e) {
      this.fatal(e);
      return;
    }
    this.kick();
  }

  private onTick(): void {
    if (this._closed) return;
    try {
      this.core.tick();
    } catch (e) {
      this.fatal(e);
      return;
    }
    this.housekeeping();
    this.kick();
  }

  onRaft(m: Message, snapConfig?: Uint8Array): void {
    if (this._closed) return;
    if (m.type === 'MsgSnap' && m.snapshot !== undefined && snapConfig !== undefined) {
      this.snapConfigs.clear();
      this.snapConfigs.set(m.snapshot.meta.index, snapConfig);
    }
    this.step((core) => core.step(m));
  }

  /** A message to `to` was dropped: the core probes it again. */
  onUnreachable(to: NodeId): void {
    this.core.reportUnreachable(to);
  }

  onSnapshotStatus(to: NodeId, ok: boolean): void {
    this.core.reportSnapshot(to, ok);
    this.kick();
  }

  /**
   * The leader's address refuses connections: its process is gone, so don't wait out an
   * election timeout to replace it (Raft.forgetLeader). A kill -9 of the leader is then
   * repaired in a few ticks, as fast as ZooKeeper's followers, which see the socket close.
   */
  onPeerRefused(to: NodeId): void {
    if (this._closed || to !== this._leader || to === this.id) return;
    this.step((core) => core.forgetLeader(to));
  }

  // ---- the Ready loop -------------------------------------------------------------------

  kick(): void {
    if (this.processing || this._closed || !this.started) return;
    let ready: boolean;
    try {
      ready = this.core.hasReady();
    } catch (e) {
      this.fatal(e);
      return;
    }
    if (!ready) return;
    this.processing = true;
    this.idle = new Promise((r) => (this.markIdle = r));
    void this.processLoop();
  }

  private async processLoop(): Promise<void> {
    try {
      while (!this._closed && this.core.hasReady()) await this.handleReady(this.core.ready());
    } catch (e) {
      this.fatal(e);
    } finally {
      this.processing = false;
      this.markIdle();
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    this.observer.ready?.();
    const syncCommit = this.commitsConfChange(rd);
    // A leader's messages go out while its own write is in flight (see sendableBeforePersist):
    // its fsync and the followers' then overlap instead of adding up. Not when they carry a
    // commit index that must be durable first (a membership change's).
    const sendEarly = !syncCommit && this.core.sendableBeforePersist(rd);
    if (sendEarly) this.send(rd);
    // Committed entries already durable here apply now, not after this Ready's new entries
    // are written: at load every Ready carries both, and waiting would add an fsync to every
    // answer. (Applied state must never run ahead of the local log: a snapshot of the tree is
    // saved at an applied index, and the storage accepts only a durable one.)
    // Not with a membership change's commit either: it applies after the Ready's messages left
    // (the change may stop the links they travel on, e.g. to a member it removes).
    const applyEarly = !syncCommit && committedEntriesDurable(rd, this.storage.lastIndex());
    if (applyEarly) {
      const last = rd.committedEntries[rd.committedEntries.length - 1]!;
      assert(this.storage.term(last.index) === last.term, () => `entry ${last.index} applied early is not the durable one (term ${last.term}, on disk ${this.storage.term(last.index)})`);
      this.apply(rd);
    }
    // 1. Persist: snapshot, entries (cutting a conflicting tail first), hard state.
    const writes = this.persist(rd, syncCommit);
    if (writes.length > 0) await Promise.all(writes);
    if (this._closed) return;
    // 2. Send, only now that it is durable.
    if (!sendEarly) this.send(rd);
    // 3. A snapshot from the leader replaces the member's state; then committed entries, in order.
    if (rd.snapshot !== undefined && rd.snapshot.meta.index > this._applied) this.installSnapshot(rd);
    if (rd.committedEntries.length > 0 && !applyEarly) this.apply(rd);
    // 4. Reads whose index is known.
    for (const rs of rd.readStates) this.hooks.readState(ctxKey(rs.ctx), rs.index);
    // 5. Leadership changes.
    if (rd.softState !== undefined) this.onSoftState(rd.softState.leader, rd.softState.role);
    this.core.advance(rd);
    this.observer.persisted?.(rd.entries);
    if (this.deferredCompact !== undefined && this.deferredCompact.index <= this.core.status().applied) {
      const d = this.deferredCompact;
      this.deferredCompact = undefined;
      this.compactCore(d.index, d.voters);
    }
  }

  /**
   * Does the Ready's commit index cover a membership change above the saved commit? Then the
   * hard state is saved with the Ready (see the header). Keeps the conf change indexes of the
   * log up to date with the Ready's snapshot and entries.
   */
  private commitsConfChange(rd: Ready): boolean {
    if (rd.snapshot !== undefined) this.confIndexes = [];
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      this.confIndexes = this.confIndexes.filter((i) => i < first);
      for (const e of rd.entries) if (e.type === 'confChange') this.confIndexes.push(e.index);
    }
    const hs = rd.hardState;
    if (hs === undefined || this.confIndexes.length === 0) return false;
    const saved = this.savedHs.commit;
    return this.confIndexes.some((i) => i > saved && i <= hs.commit);
  }

  /** Queues the Ready's writes in storage order (FIFO): snapshot, truncation, entries, hard state. */
  private persist(rd: Ready, syncCommit: boolean): Promise<void>[] {
    const writes: Promise<void>[] = [];
    if (rd.snapshot !== undefined) {
      const meta = rd.snapshot.meta;
      const config = this.snapConfigs.get(meta.index) ?? encodeConfig({ ...emptyConfig(), voters: meta.confState.voters });
      writes.push(this.storage.installSnapshot({ index: meta.index, term: meta.term, config }, rd.snapshot.data));
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      if (first <= this.storage.lastIndex()) writes.push(this.storage.truncateSuffix(first));
      writes.push(this.storage.append(rd.entries.map(toStorageEntry)));
    }
    if (rd.hardState !== undefined) {
      const hs = rd.hardState;
      this.lastHs = { ...hs };
      if (hs.term !== this.savedHs.term || hs.vote !== this.savedHs.vote || syncCommit) {
        this.savedHs = { ...hs };
        writes.push(this.storage.saveHardState(hs));
        if (syncCommit) this.confIndexes = this.confIndexes.filter((i) => i > hs.commit);
      }
    }
    return writes;
  }

  private send(rd: Ready): void {
    for (const m of rd.messages) {
      if (m.type === 'MsgSnap') void this.sendSnapshot(m);
      else this.transport.send(m);
    }
  }

  private installSnapshot(rd: Ready): void {
    const snap = rd.snapshot!;
    const index = snap.meta.index;
    const cfgBytes = this.snapConfigs.get(index);
    const cfg = cfgBytes !== undefined ? decodeConfig(cfgBytes) : { ...emptyConfig(), voters: snap.meta.confState.voters };
    this.snapConfigs.delete(index);
    assert(this.snapshotInstaller !== undefined, 'a snapshot arrived but no installer is set');
    this.snapshotInstaller(index, snap.data);
    this.logger.info({ index, term: snap.meta.term, bytes: snap.data.length, voters: cfg.voters }, 'installed a snapshot from the leader');
    this.hooks.snapshotInstalled(index);
    this._applied = index;
    this.membership.restore(index, cfg);
    if (!this._removed) this.peers.update();
  }

  private apply(rd: Ready): void {
    const out: CommittedEntry[] = [];
    let membershipChanged = false;
    for (const e of rd.committedEntries) {
      if (e.index <= this._applied) continue; // covered by a snapshot installed meanwhile
      assert(e.index === this._applied + 1, () => `committed entry ${e.index} after applied ${this._applied}`);
      const changed = this.applyEntry(e, out);
      membershipChanged ||= changed;
      this._applied = e.index;
      this.observer.applied?.(e);
      this.proposalApplied(e);
      this.hooks.entryApplied(e.index, e.term);
    }
    if (out.length > 0) {
      assert(this.handler !== undefined, 'committed entries but no commit handler');
      this.handler(out);
    }
    if (membershipChanged && !this._removed) this.peers.update();
    if (this._removed && membershipChanged) {
      this.logger.warn({ id: this.id }, 'this member was removed from the cluster: it takes no further part (stop it)');
      this.peers.forgetAll();
    }
  }

  /** What the member applies for `e` (its write, or a noop), pushed to `out`; true when membership changed. */
  private applyEntry(e: Entry, out: CommittedEntry[]): boolean {
    if (e.type === 'confChange') {
      const cc = decodeConfChange(e.data);
      this.membership.applyConfChange(e.index, cc);
      this.logger.info({ index: e.index, change: cc.type, member: cc.id, voters: this.membership.current.voters }, 'membership changed');
      if (cc.type === 'remove' && cc.id === this.id) this._removed = true;
      out.push({ index: e.index, data: NOOP_PAYLOAD });
      return true;
    }
    if (isMemberPayload(e.data)) {
      out.push({ index: e.index, data: e.data });
      return false;
    }
    const rec = e.data.length > 0 ? decodeRecord(e.data) : undefined;
    if (rec !== undefined) this.membership.applyRecord(e.index, rec);
    out.push({ index: e.index, data: NOOP_PAYLOAD });
    return rec !== undefined;
  }

  private proposalApplied(e: Entry): void {
    if (this.proposedAt.size === 0) return;
    const p = this.proposedAt.get(e.index);
    if (p === undefined) return;
    this.proposedAt.delete(e.index);
    if (p.term === e.term) this.proposalListener?.((this.clock.monoMs() - p.at) / 1000);
  }

  private onSoftState(leader: NodeId, role: Role): void {
    if (leader === this._leader) return;
    const prev = this._leader;
    this.proposedAt.clear();
    this._leaderChanges++;
    this.logger.info({ leader: leader === NONE ? null : leader, role, term: this.core.status().term }, leader === NONE ? 'no leader' : leader === this.id ? 'this member is the leader' : 'following a new leader');
    this._leader = leader;
    if (leader !== NONE) for (const w of this.leaderWaiters.splice(0)) w();
    this.hooks.leaderChanged(prev);
  }

  // ---- time ---------------------------------------------------------------------------

  /** Resolves after `ms` of the loop's clock. */
  sleep(ms: number): Promise<void> {
    return new Promise((r) => this.clock.setTimeout(r, ms));
  }

  /** Resolves after `ms`, or earlier when a leader becomes known. */
  waitLeaderOr(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.leaderWaiters;
      const timer = this.clock.setTimeout(done, ms);
      function done(): void {
        timer.cancel();
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        resolve();
      }
      waiters.push(done);
    });
  }

  /** Every tick: lazy commit persistence, the parts' deadlines and retries, a line while leaderless. */
  private housekeeping(): void {
    const now = this.clock.monoMs();
    this.saveCommitLazily(now);
    this.hooks.tick(now);
    if (this._leader === NONE && !this._removed && now - this.lastNoLeaderLog > 5000) {
      this.lastNoLeaderLog = now;
      const links = this.transport.links();
      this.logger.warn(
        { term: this.core.status().term, peers: links.map((l) => `${l.id}@${l.address}:${l.connected ? 'up' : 'down'}${l.lastError ? ` (${l.lastError})` : ''}`) },
        'no leader yet: waiting for a quorum of members to be reachable',
      );
    }
  }

  private saveCommitLazily(now: number): void {
    if (this.hsSaving || this.lastHs.commit <= this.savedHs.commit || now - this.lastHsSaveAt < 1000) return;
    const hs = { ...this.lastHs };
    this.hsSaving = true;
    this.lastHsSaveAt = now;
    this.storage.saveHardState(hs).then(
      () => {
        this.hsSaving = false;
        if (hs.term === this.savedHs.term && hs.vote === this.savedHs.vote) this.savedHs = { ...this.savedHs, commit: Math.max(this.savedHs.commit, hs.commit) };
      },
      (e: unknown) => this.fatal(e),
    );
    this.savedHs = { ...this.savedHs, commit: hs.commit };
  }

  // ---- snapshots out --------------------------------------------------------------------

  private async sendSnapshot(m: Message): Promise<void> {
    try {
      const s = await this.storage.loadSnapshot();
      const want = m.snapshot!.meta;
      if (s === undefined || s.meta.index !== want.index || s.meta.term !== want.term) {
        this.logger.info({ to: m.to, want: want.index, have: s?.meta.index }, 'the snapshot to send was superseded; the core will pick the newest');
        this.core.reportSnapshot(m.to, false);
        return;
      }
      this.logger.info({ to: m.to, index: want.index, bytes: s.data.length }, 'sending a snapshot to a member behind the compacted log');
      this.transport.sendSnapshot(m, s.data, s.meta.config);
    } catch (e) {
      this.logger.warn({ to: m.to, err: (e as Error).message }, 'could not read the snapshot to send');
      this.core.reportSnapshot(m.to, false);
    }
  }

  /** The member's snapshot as of applied `index`: saved with the membership as of it, then the core compacts. */
  async saveSnapshot(index: number, data: Uint8Array): Promise<void> {
    if (this._closed) throw unavailable('the member is shutting down');
    const term = this.storage.term(index);
    if (term === undefined || index < this.storage.firstIndex()) return; // a newer snapshot is already there
    const cfg = this.membership.asOf(index);
    await this.storage.saveSnapshot({ index, term, config: encodeConfig(cfg) }, data);
    if (this._closed) return;
    this.compactCore(index, cfg.voters);
  }

  private compactCore(index: number, voters: number[]): void {
    if (index > this.core.status().applied) {
      // Applied ahead of its Ready's advance (applyEarly): compact once the core has advanced.
      this.deferredCompact = { index, voters };
      return;
    }
    try {
      this.core.compact(index, new Uint8Array(0), { voters });
      this.membership.prune(index);
    } catch (e) {
      this.fatal(e);
    }
  }

  // ---- stopping -------------------------------------------------------------------------

  private stop(err: Error): void {
    this._closed = true;
    this.ticker?.cancel();
    this.ticker = undefined;
    this.hooks.stopped(err);
    for (const w of this.leaderWaiters.splice(0)) w();
  }

  private fatal(e: unknown): void {
    if (this.fatalError !== undefined) return;
    const err = e instanceof Error ? e : new Error(String(e));
    this.fatalError = err;
    this.logger.error({ err }, 'the Raft loop cannot continue (a failed disk write or a broken invariant): stopping');
    this.stop(unavailable(`the member stopped: ${err.message}`));
    this.onFatal(err);
  }

  async close(): Promise<void> {
    if (!this._closed) this.stop(unavailable('the member is shutting down'));
    this.ticker?.cancel();
    await this.idle;
    await this.transport.close();
    await this.storage.close().catch(() => undefined);
  }
}
