/**
 * RaftLog: the running replicated log of one member, the ReplicatedLog the Member writes
 * through. It drives the pure Raft core (raft/): a tick timer, messages from the transport,
 * and the Ready loop — persist (storage/) BEFORE sending, send, install a received snapshot
 * into the member, hand committed entries to the member in index order, answer read-index
 * waiters, advance.
 *
 * - Writes: on the leader, propose; on a follower, forward the EntryPayload to the leader
 *   over the peer link with a request id. The leader proposes it and answers ok or refused.
 *   A refusal (not leader, transfer running, flow control) or a leader not known or not
 *   connected is retried with backoff until the request timeout; a forward that left and got
 *   no answer is never re-sent (it may have been appended: re-sending could apply it twice)
 *   and answers Unavailable "may or may not apply". Either way the client is answered only
 *   when the entry has applied here (Member matches its origin and request id).
 * - Reads: readIndex() batches concurrent callers into one ReadIndex round through the core
 *   (a follower's round goes to the leader as MsgReadIndex), re-issued after a leader change,
 *   bounded by the read timeout, then Unavailable.
 * - Snapshots: Member.saveSnapshot(index, data) → storage.saveSnapshot (with the membership
 *   as of index in its meta) → core.compact. The core keeps no snapshot bytes (a reference:
 *   empty data); a MsgSnap is streamed from the snapshot file.
 * - Hard state: persisted (fsync) whenever term or vote change, before the Ready's messages
 *   leave. A commit-only change is persisted lazily (at most once per second): commit is a
 *   hint, and the leader tells a restarted member again.
 * - Failures: a failed disk write leaves the core and the disk disagreeing: fail-stop
 *   (`onFatal`); a restart recovers from the files.
 */
import { randomInt } from 'node:crypto';
import { ZgateError, type ZkCode } from '../core/errors.js';
import type { CommittedEntry, LogStatus, ReplicatedLog } from '../log/replicated-log.js';
import { MemoryLogStorage, NONE, RawNode, bootstrapState, committedEntriesDurable, decodeConfChange, type HardState, type Message, type NodeId, type RaftLogger, type RandomSource, type Ready, type Role, type Status } from '../raft/index.js';
import type { LogEntry, SnapshotMeta, Storage } from '../storage/index.js';
import { assert } from '../util/assert.js';
import { Prng } from '../util/prng.js';
import { decodeRecord, encodeRecord, fromStorageEntry, isMemberPayload, NOOP_PAYLOAD, toStorageEntry } from './entries.js';
import type { ClusterLogger } from './logger.js';
import { decodeConfig, emptyConfig, encodeConfig, Membership, type ClusterConfig } from './membership.js';
import { parseHostPort } from './peers.js';
import type { Transport, TransportHandler } from './transport.js';
import { MAX_KEEPALIVE_IDS, type AdminFrame, type AdminRespFrame, type ControlFrame, type FwdFrame, type FwdRespFrame } from './wire.js';

export interface RaftLogOptions {
  id: NodeId;
  storage: Storage;
  transport: Transport;
  /** This member's --peers: dialed as given (they win over replicated addresses). */
  flagPeers: ReadonlyMap<NodeId, string>;
  /** This member's own HTTP URL (for /v1/cluster). */
  http: string;
  log: ClusterLogger;
  /** Persistence failed: stop the process (fail-stop). */
  onFatal(e: Error): void;
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  /** Bound on a forwarded write's retries (and on an admin change). Default 10 s. */
  requestTimeoutMs?: number;
  /** Bound on a read index. Default 5 s. */
  readTimeoutMs?: number;
  /** How long a forwarded write waits for the leader's ok before answering "may or may not apply". Default 2 s. */
  forwardAckMs?: number;
  random?: RandomSource;
}

/** What storage recovered, or a bootstrap (first start of a new cluster's member). */
export interface StartState {
  hardState: HardState;
  snapshot?: { meta: SnapshotMeta; data: Uint8Array };
  entries: LogEntry[];
}

export interface ClusterMemberView {
  id: NodeId;
  peer: string;
  http: string;
  role: LogStatus['role'];
  /** The leader's view of the member's log; on a non-leader only its own last index is known (others 0). */
  matchIndex: number;
  reachable: boolean;
}

export interface ClusterView {
  id: NodeId;
  leaderId: NodeId | null;
  term: number;
  commitIndex: number;
  members: ClusterMemberView[];
}

export interface ClusterMetrics {
  term: number;
  commitIndex: number;
  appliedIndex: number;
  isLeader: boolean;
  leaderChanges: number;
  forwarded: number;
  /** Leader only: entries each follower is behind the leader's last index. */
  followerLag: { id: NodeId; lag: number }[];
}

interface ReadWaiter {
  resolve(index: number): void;
  reject(e: Error): void;
  deadline: number;
}

interface ReadRound {
  key: string;
  waiters: ReadWaiter[];
  sentAt: number;
}

interface Pending<T> {
  resolve(v: T): void;
  reject(e: Error): void;
  to: NodeId;
  timer: NodeJS.Timeout;
}

interface IndexWaiter {
  term: number;
  resolve(): void;
  reject(e: Error): void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function unavailable(message: string): ZgateError {
  return new ZgateError('Unavailable', message);
}

function mapRole(r: Role): LogStatus['role'] {
  return r === 'leader' ? 'leader' : r === 'follower' ? 'follower' : 'candidate';
}

function ctxKey(ctx: Uint8Array): string {
  return Buffer.from(ctx).toString('hex');
}

/** The durable state of a brand-new cluster member (the core's bootstrap: one committed 'add' per voter). */
export function bootstrapStartState(voters: readonly number[]): StartState {
  const b = bootstrapState(voters);
  return { hardState: b.hardState, entries: b.entries.map(toStorageEntry) };
}

export class RaftLog implements ReplicatedLog {
  readonly id: NodeId;
  private readonly rn: RawNode;
  private readonly storage: Storage;
  private readonly transport: Transport;
  private readonly log: ClusterLogger;
  private readonly opts: Required<Omit<RaftLogOptions, 'random' | 'storage' | 'transport' | 'log' | 'onFatal' | 'flagPeers' | 'http' | 'id'>>;
  private readonly flagPeers: ReadonlyMap<NodeId, string>;
  private readonly http: string;
  private readonly onFatal: (e: Error) => void;
  private readonly membership: Membership;

  private handler: ((entries: CommittedEntry[]) => void) | undefined;
  private snapshotInstaller: ((index: number, data: Uint8Array) => void) | undefined;
  private keepaliveReceiver: ((ids: bigint[]) => void) | undefined;
  private proposalListener: ((seconds: number) => void) | undefined;
  /** Leader: when each entry it appended was proposed (for the proposal latency metric). */
  private readonly proposedAt = new Map<number, { term: number; at: number }>();
  private appliedIndex: number;
  /** Commit index when the member started: /readyz waits until it has applied that far. */
  private readonly startCommit: number;
  private savedHs: HardState;
  private lastHs: HardState;
  private hsSaving = false;
  private lastHsSaveAt = 0;

  private processing = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;
  private ticker: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;
  private fatalError: Error | undefined;
  private removed = false;

  private readonly peerHttp = new Map<NodeId, string>();
  private readonly snapConfigs = new Map<number, Uint8Array>();
  private deferredCompact: { index: number; voters: number[] } | undefined;

  /** Request ids (forwards, admin) and read contexts are unique across restarts: an answer meant for a previous run must match nothing. */
  private nextRid = Date.now() * 1000;
  private readonly fwdPending = new Map<number, Pending<FwdRespFrame>>();
  private readonly adminPending = new Map<number, Pending<AdminRespFrame>>();
  private readonly indexWaiters = new Map<number, IndexWaiter[]>();
  private leaderWaiters: (() => void)[] = [];
  private adminBusy = false;

  private readCounter = Date.now() * 1000;
  private readQueue: ReadWaiter[] = [];
  private readRound: ReadRound | undefined;

  private leader: NodeId = NONE;
  private leaderChanges = 0;
  private forwarded = 0;
  private lastNoLeaderLog = 0;

  private constructor(opts: RaftLogOptions, state: StartState) {
    this.id = opts.id;
    this.storage = opts.storage;
    this.transport = opts.transport;
    this.log = opts.log;
    this.flagPeers = opts.flagPeers;
    this.http = opts.http;
    this.onFatal = opts.onFatal;
    this.opts = {
      tickMs: opts.tickMs ?? 100,
      electionTicks: opts.electionTicks ?? 10,
      heartbeatTicks: opts.heartbeatTicks ?? 1,
      requestTimeoutMs: opts.requestTimeoutMs ?? 10_000,
      readTimeoutMs: opts.readTimeoutMs ?? 5_000,
      forwardAckMs: opts.forwardAckMs ?? 2_000,
    };
    const snapIndex = state.snapshot?.meta.index ?? 0;
    const lastIndex = state.entries.length > 0 ? state.entries[state.entries.length - 1]!.index : snapIndex;
    if (state.hardState.commit > lastIndex) {
      // A repaired (cut) log tail: this member lost entries it had; the leader sends them again.
      this.log.warn({ commit: state.hardState.commit, lastIndex }, 'the recovered log ends before the saved commit index (a repaired tail): catching up from the leader');
      state = { ...state, hardState: { ...state.hardState, commit: lastIndex } };
    }
    const snapConfig: ClusterConfig = state.snapshot ? decodeConfig(state.snapshot.meta.config) : emptyConfig();
    this.membership = new Membership(snapIndex, snapConfig);
    const core = MemoryLogStorage.fromDisk({
      hardState: state.hardState,
      ...(state.snapshot ? { snapshot: { meta: { index: snapIndex, term: state.snapshot.meta.term, confState: { voters: snapConfig.voters } }, data: new Uint8Array(0) } } : {}),
      entries: state.entries.map(fromStorageEntry),
    });
    const logger: RaftLogger = {
      debug: (msg) => this.log.debug({ raft: true }, msg),
      info: (msg) => this.log.info({ raft: true }, msg),
      warn: (msg) => this.log.warn({ raft: true }, msg),
    };
    this.rn = new RawNode({
      id: this.id,
      storage: core,
      random: opts.random ?? new Prng(randomInt(2 ** 47)),
      electionTick: this.opts.electionTicks,
      heartbeatTick: this.opts.heartbeatTicks,
      applied: snapIndex,
      logger,
    });
    this.appliedIndex = snapIndex;
    this.startCommit = Math.max(state.hardState.commit, snapIndex);
    this.savedHs = { ...state.hardState };
    this.lastHs = { ...state.hardState };
  }

  /**
   * Builds the log over what storage recovered. `bootstrap`: the voters of a brand-new
   * cluster, written to the (empty) storage first. Call start() once the member has restored
   * the snapshot (recovered.snapshot): committed entries after it are then handed over.
   */
  static async create(opts: RaftLogOptions, recovered: StartState, bootstrap?: readonly number[]): Promise<RaftLog> {
    let state = recovered;
    if (bootstrap !== undefined) {
      assert(recovered.entries.length === 0 && recovered.snapshot === undefined && recovered.hardState.term === 0, 'bootstrap on a non-empty log');
      state = bootstrapStartState(bootstrap);
      await opts.storage.append(state.entries);
      await opts.storage.saveHardState(state.hardState);
      opts.log.info({ voters: bootstrap }, 'bootstrapped a new cluster: the initial members are the --peers list');
    }
    return new RaftLog(opts, state);
  }

  /** How a snapshot received from the leader replaces the member's state (Member.installSnapshot). */
  setSnapshotInstaller(fn: (index: number, data: Uint8Array) => void): void {
    this.snapshotInstaller = fn;
  }

  /** Where session keepalives forwarded by followers go on the leader (SessionService.receiveKeepalives). */
  setKeepaliveReceiver(fn: (ids: bigint[]) => void): void {
    this.keepaliveReceiver = fn;
  }

  /** Leader: seconds from each proposal (its own or forwarded) to its apply here. */
  onProposalLatency(fn: (seconds: number) => void): void {
    this.proposalListener = fn;
  }

  private noteProposed(index: number, term: number): void {
    if (this.proposalListener !== undefined && this.proposedAt.size < 100_000) this.proposedAt.set(index, { term, at: performance.now() });
  }

  /** A follower's batch of session keepalives to the leader; false when there is no leader to send them to. */
  forwardKeepalives(ids: bigint[]): boolean {
    if (this.closed || this.leader === NONE || this.leader === this.id || ids.length === 0) return false;
    let ok = true;
    for (let i = 0; i < ids.length; i += MAX_KEEPALIVE_IDS) ok = this.transport.sendControl(this.leader, { t: 'ka', ids: ids.slice(i, i + MAX_KEEPALIVE_IDS) }) && ok;
    return ok;
  }

  onCommit(handler: (entries: CommittedEntry[]) => void): void {
    assert(this.handler === undefined, 'commit handler registered twice');
    this.handler = handler;
  }

  /** Starts the transport and the tick timer. */
  async start(): Promise<void> {
    assert(!this.started, 'RaftLog started twice');
    this.started = true;
    const h: TransportHandler = {
      raft: (m, cfg) => this.onRaft(m, cfg),
      control: (from, f) => this.onControl(from, f),
      unreachable: (to) => {
        this.rn.reportUnreachable(to);
      },
      linkDown: (to) => this.failForwards(to, `the link to leader ${to} broke`),
      refused: (to) => this.onPeerRefused(to),
      snapshotStatus: (to, ok) => {
        this.rn.reportSnapshot(to, ok);
        this.kick();
      },
      hello: (from, info) => {
        if (info.http !== undefined && info.http !== '') this.peerHttp.set(from, info.http);
      },
    };
    this.updatePeers();
    await this.transport.start(h);
    this.ticker = setInterval(() => this.onTick(), this.opts.tickMs);
    this.kick();
  }

  // ---- the loop -----------------------------------------------------------------------

  private onTick(): void {
    if (this.closed) return;
    try {
      this.rn.tick();
    } catch (e) {
      this.fatal(e);
      return;
    }
    this.housekeeping();
    this.kick();
  }

  private onRaft(m: Message, snapConfig?: Uint8Array): void {
    if (this.closed) return;
    if (m.type === 'MsgSnap' && m.snapshot !== undefined && snapConfig !== undefined) {
      this.snapConfigs.clear();
      this.snapConfigs.set(m.snapshot.meta.index, snapConfig);
    }
    try {
      this.rn.step(m);
    } catch (e) {
      this.fatal(e);
      return;
    }
    this.kick();
  }

  private kick(): void {
    if (this.processing || this.closed || !this.started) return;
    let ready: boolean;
    try {
      ready = this.rn.hasReady();
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
      while (!this.closed && this.rn.hasReady()) {
        const rd = this.rn.ready();
        await this.handleReady(rd);
      }
    } catch (e) {
      this.fatal(e);
    } finally {
      this.processing = false;
      this.markIdle();
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    // A leader's messages go out while its own write is in flight (see sendableBeforePersist):
    // its fsync and the followers' then overlap instead of adding up.
    const sendEarly = this.rn.sendableBeforePersist(rd);
    if (sendEarly) this.send(rd);
    // Committed entries already durable here apply now, not after this Ready's new entries
    // are written: at load every Ready carries both, and waiting would add an fsync to every
    // answer. (Applied state must never run ahead of the local log: a snapshot of the tree is
    // saved at an applied index, and the storage accepts only a durable one.)
    const applyEarly = committedEntriesDurable(rd, this.storage.lastIndex());
    if (applyEarly) {
      const last = rd.committedEntries[rd.committedEntries.length - 1]!;
      assert(this.storage.term(last.index) === last.term, () => `entry ${last.index} applied early is not the durable one (term ${last.term}, on disk ${this.storage.term(last.index)})`);
      this.apply(rd);
    }

    // 1. Persist: snapshot, entries (cutting a conflicting tail first), hard state.
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
      if (hs.term !== this.savedHs.term || hs.vote !== this.savedHs.vote) {
        this.savedHs = { ...hs };
        writes.push(this.storage.saveHardState(hs));
      }
    }
    if (writes.length > 0) await Promise.all(writes);
    if (this.closed) return;

    // 2. Send, only now that it is durable.
    if (!sendEarly) this.send(rd);

    // 3. A snapshot from the leader replaces the member's state; then committed entries, in order.
    if (rd.snapshot !== undefined && rd.snapshot.meta.index > this.appliedIndex) this.installSnapshot(rd);
    if (rd.committedEntries.length > 0 && !applyEarly) this.apply(rd);

    // 4. Reads whose index is known.
    for (const rs of rd.readStates) this.onReadState(ctxKey(rs.ctx), rs.index);

    // 5. Leadership changes.
    if (rd.softState !== undefined) this.onSoftState(rd.softState.leader, rd.softState.role);

    this.rn.advance(rd);
    if (this.deferredCompact !== undefined && this.deferredCompact.index <= this.rn.status().applied) {
      const d = this.deferredCompact;
      this.deferredCompact = undefined;
      this.compactCore(d.index, d.voters);
    }
  }

  private send(rd: Ready): void {
    for (const m of rd.messages) {
      if (m.type === 'MsgSnap') void this.sendSnapshot(m);
      else this.transport.send(m);
    }
  }

  /**
   * The leader's address refuses connections: its process is gone, so don't wait out an
   * election timeout to replace it (Raft.forgetLeader). A kill -9 of the leader is then
   * repaired in a few ticks, as fast as ZooKeeper's followers, which see the socket close.
   */
  private onPeerRefused(to: NodeId): void {
    if (this.closed || to !== this.leader || to === this.id) return;
    try {
      this.rn.forgetLeader(to);
    } catch (e) {
      this.fatal(e);
      return;
    }
    this.kick();
  }

  private installSnapshot(rd: Ready): void {
    const snap = rd.snapshot!;
    const index = snap.meta.index;
    const cfgBytes = this.snapConfigs.get(index);
    const cfg = cfgBytes !== undefined ? decodeConfig(cfgBytes) : { ...emptyConfig(), voters: snap.meta.confState.voters };
    this.snapConfigs.delete(index);
    assert(this.snapshotInstaller !== undefined, 'a snapshot arrived but no installer is set');
    this.snapshotInstaller(index, snap.data);
    this.log.info({ index, term: snap.meta.term, bytes: snap.data.length, voters: cfg.voters }, 'installed a snapshot from the leader');
    for (const [i, ws] of this.indexWaiters) {
      if (i > index) continue;
      this.indexWaiters.delete(i);
      for (const w of ws) w.reject(unavailable(`entry ${i} was covered by a snapshot from the leader before it applied here; it may or may not have applied`));
    }
    this.appliedIndex = index;
    this.membership.restore(index, cfg);
    this.updatePeers();
  }

  private apply(rd: Ready): void {
    const out: CommittedEntry[] = [];
    let membershipChanged = false;
    for (const e of rd.committedEntries) {
      if (e.index <= this.appliedIndex) continue; // covered by a snapshot installed meanwhile
      assert(e.index === this.appliedIndex + 1, () => `committed entry ${e.index} after applied ${this.appliedIndex}`);
      if (e.type === 'confChange') {
        const cc = decodeConfChange(e.data);
        this.membership.applyConfChange(e.index, cc);
        membershipChanged = true;
        this.log.info({ index: e.index, change: cc.type, member: cc.id, voters: this.membership.current.voters }, 'membership changed');
        if (cc.type === 'remove' && cc.id === this.id) this.removed = true;
        out.push({ index: e.index, data: NOOP_PAYLOAD });
      } else if (isMemberPayload(e.data)) {
        out.push({ index: e.index, data: e.data });
      } else {
        const rec = e.data.length > 0 ? decodeRecord(e.data) : undefined;
        if (rec !== undefined) {
          this.membership.applyRecord(e.index, rec);
          membershipChanged = true;
        }
        out.push({ index: e.index, data: NOOP_PAYLOAD });
      }
      this.appliedIndex = e.index;
      if (this.proposedAt.size > 0) {
        const p = this.proposedAt.get(e.index);
        if (p !== undefined) {
          this.proposedAt.delete(e.index);
          if (p.term === e.term) this.proposalListener?.((performance.now() - p.at) / 1000);
        }
      }
      const ws = this.indexWaiters.get(e.index);
      if (ws !== undefined) {
        this.indexWaiters.delete(e.index);
        for (const w of ws) {
          if (w.term === e.term) w.resolve();
          else w.reject(unavailable(`the entry proposed at ${e.index} was replaced in a leader change; retry`));
        }
      }
    }
    if (out.length > 0) {
      assert(this.handler !== undefined, 'committed entries but no commit handler');
      this.handler(out);
    }
    if (membershipChanged) this.updatePeers();
    if (this.removed && membershipChanged) {
      this.log.warn({ id: this.id }, 'this member was removed from the cluster: it takes no further part (stop it)');
      this.transport.setPeers(new Map());
    }
  }

  /** Forwards to `to` that left and can no longer be answered: "may or may not apply", at once. */
  private failForwards(to: NodeId, why: string): void {
    for (const [rid, p] of this.fwdPending) {
      if (p.to !== to) continue;
      clearTimeout(p.timer);
      this.fwdPending.delete(rid);
      p.reject(unavailable(`${why} before it answered a forwarded write; the write may or may not apply`));
    }
  }

  private onSoftState(leader: NodeId, role: Role): void {
    if (leader !== this.leader) {
      this.proposedAt.clear();
      if (this.leader !== NONE && this.leader !== this.id) this.failForwards(this.leader, `leader ${this.leader} was replaced`);
      this.leaderChanges++;
      this.log.info({ leader: leader === NONE ? null : leader, role, term: this.rn.status().term }, leader === NONE ? 'no leader' : leader === this.id ? 'this member is the leader' : 'following a new leader');
      this.leader = leader;
      if (leader !== NONE) {
        const ws = this.leaderWaiters;
        this.leaderWaiters = [];
        for (const w of ws) w();
      }
      // A read round sent to the old leader will not answer: ask the new one.
      if (this.readRound !== undefined) {
        this.readQueue = [...this.readRound.waiters, ...this.readQueue];
        this.readRound = undefined;
      }
      this.startReadRound();
    }
  }

  private fatal(e: unknown): void {
    if (this.fatalError !== undefined) return;
    const err = e instanceof Error ? e : new Error(String(e));
    this.fatalError = err;
    this.log.error({ err }, 'the Raft loop cannot continue (a failed disk write or a broken invariant): stopping');
    this.closed = true;
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.failAll(unavailable(`the member stopped: ${err.message}`));
    this.onFatal(err);
  }

  /** Every tick: lazy commit persistence, read deadlines and retries, a line while leaderless. */
  private housekeeping(): void {
    const now = Date.now();
    if (!this.hsSaving && this.lastHs.commit > this.savedHs.commit && now - this.lastHsSaveAt >= 1000) {
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
    this.expireReads(now);
    if (this.readRound !== undefined && now - this.readRound.sentAt > this.opts.tickMs * this.opts.electionTicks) {
      // Lost (a message dropped, a leader change the core did not report yet): ask again.
      this.readQueue = [...this.readRound.waiters, ...this.readQueue];
      this.readRound = undefined;
    }
    this.startReadRound();
    if (this.leader === NONE && !this.removed && now - this.lastNoLeaderLog > 5000) {
      this.lastNoLeaderLog = now;
      const links = this.transport.links();
      this.log.warn(
        { term: this.rn.status().term, peers: links.map((l) => `${l.id}@${l.address}:${l.connected ? 'up' : 'down'}${l.lastError ? ` (${l.lastError})` : ''}`) },
        'no leader yet: waiting for a quorum of members to be reachable',
      );
    }
  }

  // ---- peers and addresses ------------------------------------------------------------

  private addressOf(id: NodeId): string | undefined {
    return this.flagPeers.get(id) ?? this.membership.current.addresses.get(id)?.peer;
  }

  /** Dial the members we know of: our --peers and the replicated addresses, less the removed. */
  private updatePeers(): void {
    if (this.removed) return;
    const cfg = this.membership.current;
    const peers = new Map<NodeId, string>();
    for (const id of new Set([...this.flagPeers.keys(), ...cfg.addresses.keys(), ...cfg.voters])) {
      if (id === this.id || (cfg.removed.has(id) && !cfg.voters.includes(id))) continue;
      const a = this.addressOf(id);
      if (a === undefined) {
        this.log.warn({ member: id }, 'no address known for a member: add it to --peers');
        continue;
      }
      peers.set(id, a);
    }
    this.transport.setPeers(peers);
  }

  /** May `id` call us? A member we know of (configured, replicated, or in --peers). */
  accepts(id: NodeId): boolean {
    const cfg = this.membership.current;
    if (cfg.voters.includes(id) || cfg.addresses.has(id)) return true;
    return this.flagPeers.has(id) && !cfg.removed.has(id);
  }

  // ---- snapshots ----------------------------------------------------------------------

  private async sendSnapshot(m: Message): Promise<void> {
    try {
      const s = await this.storage.loadSnapshot();
      const want = m.snapshot!.meta;
      if (s === undefined || s.meta.index !== want.index || s.meta.term !== want.term) {
        this.log.info({ to: m.to, want: want.index, have: s?.meta.index }, 'the snapshot to send was superseded; the core will pick the newest');
        this.rn.reportSnapshot(m.to, false);
        return;
      }
      this.log.info({ to: m.to, index: want.index, bytes: s.data.length }, 'sending a snapshot to a member behind the compacted log');
      this.transport.sendSnapshot(m, s.data, s.meta.config);
    } catch (e) {
      this.log.warn({ to: m.to, err: (e as Error).message }, 'could not read the snapshot to send');
      this.rn.reportSnapshot(m.to, false);
    }
  }

  async saveSnapshot(index: number, data: Uint8Array): Promise<void> {
    if (this.closed) throw unavailable('the member is shutting down');
    const term = this.storage.term(index);
    if (term === undefined || index < this.storage.firstIndex()) return; // a newer snapshot is already there
    const cfg = this.membership.asOf(index);
    await this.storage.saveSnapshot({ index, term, config: encodeConfig(cfg) }, data);
    if (this.closed) return;
    this.compactCore(index, cfg.voters);
  }

  private compactCore(index: number, voters: number[]): void {
    const st = this.rn.status();
    if (index > st.applied) {
      this.deferredCompact = { index, voters };
      return;
    }
    try {
      this.rn.compact(index, new Uint8Array(0), { voters });
      this.membership.prune(index);
    } catch (e) {
      this.fatal(e);
    }
  }

  // ---- writes -------------------------------------------------------------------------

  async propose(data: Uint8Array): Promise<void> {
    const deadline = Date.now() + this.opts.requestTimeoutMs;
    let delay = Math.max(5, Math.floor(this.opts.tickMs / 4));
    let hint: NodeId = NONE;
    for (;;) {
      if (this.closed) throw unavailable('the member is shutting down');
      const r = this.rn.propose(data);
      if (r.ok) {
        this.noteProposed(r.index, r.term);
        this.kick();
        return;
      }
      let why: string = r.reason;
      const leader = r.leader !== NONE && r.leader !== this.id ? r.leader : hint;
      if (r.reason === 'not-leader' && leader !== NONE) {
        const res = await this.forwardOnce(leader, data, deadline);
        if (res.ok) return;
        why = res.reason;
        hint = res.leader !== this.id ? res.leader : NONE;
      }
      if (Date.now() + delay > deadline) {
        throw unavailable(`no leader accepted the write within ${this.opts.requestTimeoutMs} ms (last: ${why}${this.leader === NONE ? ', no leader known' : `, leader ${this.leader}`}); it was not applied`);
      }
      await this.waitLeaderOr(delay);
      delay = Math.min(delay * 2, 500);
    }
  }

  /**
   * One forward to the leader. ok: the leader appended it. Not ok: refused or never sent —
   * safe to retry. No answer after it left: it may have been appended, so never re-sent.
   */
  private async forwardOnce(to: NodeId, data: Uint8Array, deadline: number): Promise<{ ok: boolean; reason: string; leader: NodeId }> {
    const rid = this.nextRid++;
    const f: FwdFrame = { t: 'fwd', rid, data };
    const wait = Math.max(1, Math.min(this.opts.forwardAckMs, deadline - Date.now()));
    const answer = new Promise<FwdRespFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fwdPending.delete(rid);
        reject(unavailable(`forwarded the write to leader ${to}, which did not answer within ${wait} ms; it may or may not apply`));
      }, wait);
      this.fwdPending.set(rid, { resolve, reject, to, timer });
    });
    if (!this.transport.sendControl(to, f)) {
      const p = this.fwdPending.get(rid);
      if (p !== undefined) {
        clearTimeout(p.timer);
        this.fwdPending.delete(rid);
        p.resolve({ t: 'fwdResp', rid, ok: false, reason: `leader ${to} not connected`, leader: NONE });
      }
    } else {
      this.forwarded++;
    }
    const resp = await answer;
    return { ok: resp.ok, reason: resp.reason, leader: resp.leader };
  }

  private waitLeaderOr(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const waiters = this.leaderWaiters;
      function done(): void {
        clearTimeout(timer);
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        resolve();
      }
      this.leaderWaiters.push(done);
    });
  }

  private onControl(from: NodeId, f: ControlFrame): void {
    if (this.closed) return;
    switch (f.t) {
      case 'fwd': {
        let resp: FwdRespFrame;
        if (!isMemberPayload(f.data)) {
          this.log.warn({ from }, 'refused a forwarded write that is not a member payload');
          resp = { t: 'fwdResp', rid: f.rid, ok: false, reason: 'bad-payload', leader: this.leader };
        } else {
          const r = this.rn.propose(f.data);
          resp = r.ok ? { t: 'fwdResp', rid: f.rid, ok: true, reason: '', leader: this.id } : { t: 'fwdResp', rid: f.rid, ok: false, reason: r.reason, leader: r.leader };
          if (r.ok) {
            this.noteProposed(r.index, r.term);
            this.kick();
          }
        }
        this.transport.sendControl(from, resp);
        return;
      }
      case 'fwdResp': {
        const p = this.fwdPending.get(f.rid);
        if (p === undefined || p.to !== from) return;
        clearTimeout(p.timer);
        this.fwdPending.delete(f.rid);
        p.resolve(f);
        return;
      }
      case 'admin':
        void this.serveAdmin(from, f);
        return;
      case 'adminResp': {
        const p = this.adminPending.get(f.rid);
        if (p === undefined || p.to !== from) return;
        clearTimeout(p.timer);
        this.adminPending.delete(f.rid);
        p.resolve(f);
        return;
      }
      case 'ka':
        this.keepaliveReceiver?.(f.ids);
        return;
    }
  }

  // ---- reads --------------------------------------------------------------------------

  readIndex(): Promise<number> {
    if (this.closed) return Promise.reject(unavailable('the member is shutting down'));
    return new Promise((resolve, reject) => {
      this.readQueue.push({ resolve, reject, deadline: Date.now() + this.opts.readTimeoutMs });
      this.startReadRound();
    });
  }

  private startReadRound(): void {
    if (this.closed || this.readRound !== undefined || this.readQueue.length === 0) return;
    const ctx = Buffer.alloc(12);
    ctx.writeUInt32BE(this.id, 0);
    ctx.writeDoubleBE(++this.readCounter, 4);
    const r = this.rn.readIndex(ctx);
    if (!r.ok) return; // no leader (or too many reads): retried at the next tick or leader change
    this.readRound = { key: ctxKey(ctx), waiters: this.readQueue, sentAt: Date.now() };
    this.readQueue = [];
    this.kick();
  }

  private onReadState(key: string, index: number): void {
    const round = this.readRound;
    if (round === undefined || round.key !== key) return;
    this.readRound = undefined;
    for (const w of round.waiters) w.resolve(index);
    this.startReadRound();
  }

  private expireReads(now: number): void {
    const expired = (w: ReadWaiter): boolean => {
      if (w.deadline > now) return false;
      w.reject(unavailable(`no leader confirmed a read index within ${this.opts.readTimeoutMs} ms${this.leader === NONE ? ' (no leader known)' : ''}`));
      return true;
    };
    this.readQueue = this.readQueue.filter((w) => !expired(w));
    if (this.readRound !== undefined) {
      this.readRound.waiters = this.readRound.waiters.filter((w) => !expired(w));
      if (this.readRound.waiters.length === 0) this.readRound = undefined;
    }
  }

  // ---- membership ---------------------------------------------------------------------

  /** Adds a voter (its addresses replicated first); on a follower, asks the leader. Resolves once applied here. */
  async addMember(id: NodeId, peer: string, http: string): Promise<{ index: number }> {
    parseHostPort(peer, 'peer');
    return this.admin({ t: 'admin', rid: 0, op: 'add', id, peer, http });
  }

  async removeMember(id: NodeId): Promise<{ index: number }> {
    return this.admin({ t: 'admin', rid: 0, op: 'remove', id, peer: '', http: '' });
  }

  private async admin(req: AdminFrame): Promise<{ index: number }> {
    const deadline = Date.now() + this.opts.requestTimeoutMs;
    let delay = Math.max(5, Math.floor(this.opts.tickMs / 2));
    for (;;) {
      if (this.closed) throw unavailable('the member is shutting down');
      let resp: AdminRespFrame;
      if (this.leader === this.id) {
        resp = await this.runAdmin(req, deadline);
      } else if (this.leader !== NONE) {
        resp = await this.forwardAdmin(this.leader, req, deadline);
      } else {
        resp = { t: 'adminResp', rid: 0, ok: false, code: 'Unavailable', message: 'no leader', index: 0, retry: true };
      }
      if (resp.ok) {
        const wait = Math.max(0, deadline - Date.now());
        await this.waitApplied(resp.index, wait);
        return { index: resp.index };
      }
      if (!resp.retry) throw new ZgateError(resp.code as ZkCode, resp.message);
      if (Date.now() + delay > deadline) throw unavailable(`the membership change did not go through within ${this.opts.requestTimeoutMs} ms: ${resp.message}`);
      await this.waitLeaderOr(delay);
      delay = Math.min(delay * 2, 500);
    }
  }

  private forwardAdmin(to: NodeId, req: AdminFrame, deadline: number): Promise<AdminRespFrame> {
    const rid = this.nextRid++;
    const wait = Math.max(1, deadline - Date.now());
    return new Promise<AdminRespFrame>((resolve) => {
      const timer = setTimeout(() => {
        this.adminPending.delete(rid);
        // Not retried: the leader may be making it.
        resolve({ t: 'adminResp', rid, ok: false, code: 'Unavailable', message: `leader ${to} did not answer the membership change within ${wait} ms; it may or may not have been made`, index: 0, retry: false });
      }, wait);
      this.adminPending.set(rid, { resolve, reject: () => undefined, to, timer });
      if (!this.transport.sendControl(to, { ...req, rid })) {
        clearTimeout(timer);
        this.adminPending.delete(rid);
        resolve({ t: 'adminResp', rid, ok: false, code: 'Unavailable', message: `leader ${to} not connected`, index: 0, retry: true });
      }
    });
  }

  private async serveAdmin(from: NodeId, req: AdminFrame): Promise<void> {
    const resp = this.leader === this.id ? await this.runAdmin(req, Date.now() + this.opts.requestTimeoutMs) : { t: 'adminResp' as const, rid: 0, ok: false, code: 'Unavailable', message: `not the leader (leader: ${this.leader || 'unknown'})`, index: 0, retry: true };
    this.transport.sendControl(from, { ...resp, rid: req.rid });
  }

  /** On the leader: one change at a time; an add replicates the new member's addresses first. */
  private async runAdmin(req: AdminFrame, deadline: number): Promise<AdminRespFrame> {
    const fail = (code: ZkCode, message: string, retry = false): AdminRespFrame => ({ t: 'adminResp', rid: req.rid, ok: false, code, message, index: 0, retry });
    if (this.adminBusy) return fail('Unavailable', 'another membership change is in progress; retry when it is done');
    this.adminBusy = true;
    try {
      const voters = this.rn.status().confState.voters;
      if (req.op === 'add') {
        if (voters.includes(req.id)) return fail('NodeExists', `member ${req.id} is already a member`);
        try {
          parseHostPort(req.peer, 'peer');
        } catch (e) {
          return fail('BadArguments', (e as Error).message);
        }
        const rec = this.rn.propose(encodeRecord({ kind: 'member', id: req.id, peer: req.peer, http: req.http }));
        if (!rec.ok) return fail('Unavailable', `the leader refused the change: ${rec.reason}`, rec.reason === 'not-leader');
        this.kick();
        await this.waitIndex(rec.index, rec.term, deadline);
      } else {
        if (!voters.includes(req.id)) return fail('NoNode', `member ${req.id} is not a member`);
        if (voters.length === 1) return fail('BadArguments', `member ${req.id} is the last member`);
      }
      for (;;) {
        const r = this.rn.proposeConfChange({ type: req.op, id: req.id });
        if (r.ok) {
          this.kick();
          await this.waitIndex(r.index, r.term, deadline);
          this.log.info({ change: req.op, member: req.id, index: r.index }, 'membership change applied');
          return { t: 'adminResp', rid: req.rid, ok: true, code: 'Ok', message: '', index: r.index, retry: false };
        }
        if (r.reason === 'invalid-conf-change') return fail('BadArguments', r.detail ?? r.reason);
        if (r.reason !== 'conf-change-pending' || Date.now() + 50 > deadline) return fail('Unavailable', `the leader refused the change: ${r.reason}${r.detail ? `: ${r.detail}` : ''}`, r.reason === 'not-leader');
        await sleep(Math.max(10, this.opts.tickMs / 2));
      }
    } catch (e) {
      return fail('Unavailable', (e as Error).message, false);
    } finally {
      this.adminBusy = false;
    }
  }

  /** Resolves when the entry proposed at (index, term) has applied here; rejects if another took its place. */
  private waitIndex(index: number, term: number, deadline: number): Promise<void> {
    if (index <= this.appliedIndex) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const ws = this.indexWaiters.get(index);
        if (ws !== undefined) ws.splice(ws.indexOf(w), 1);
        reject(unavailable(`entry ${index} did not apply within the request timeout`));
      }, Math.max(1, deadline - Date.now()));
      const w: IndexWaiter = {
        term,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const ws = this.indexWaiters.get(index) ?? [];
      ws.push(w);
      this.indexWaiters.set(index, ws);
    });
  }

  /** Resolves once this member applied `index` (whatever its term). */
  private async waitApplied(index: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.appliedIndex < index) {
      if (this.closed) throw unavailable('the member is shutting down');
      if (Date.now() > deadline) throw unavailable(`the change applied on the leader at ${index} but not yet here (applied ${this.appliedIndex})`);
      await sleep(Math.max(5, this.opts.tickMs / 4));
    }
  }

  // ---- leadership transfer and shutdown -----------------------------------------------

  /**
   * On the leader: hands leadership to the most caught-up reachable follower and waits (up to
   * `timeoutMs`) until it took over. Returns the new leader, or NONE if none took over.
   */
  async transferLeadership(timeoutMs = 2000): Promise<NodeId> {
    const st = this.rn.status();
    if (st.role !== 'leader' || this.closed) return NONE;
    const links = new Map(this.transport.links().map((l) => [l.id, l.connected]));
    const candidates = (st.progress ?? []).filter((p) => p.id !== this.id && st.confState.voters.includes(p.id) && links.get(p.id) === true);
    if (candidates.length === 0) return NONE;
    candidates.sort((a, b) => b.match - a.match || a.id - b.id);
    const to = candidates[0]!.id;
    const r = this.rn.transferLeadership(to);
    if (!r.ok) return NONE;
    this.log.info({ to, match: candidates[0]!.match, lastIndex: st.lastIndex }, 'transferring leadership before stopping');
    this.kick();
    const deadline = Date.now() + timeoutMs;
    let stepped = false;
    while (Date.now() < deadline && !this.closed) {
      const s = this.rn.status();
      // Stepped down: wait (briefly) until the new leader is heard of.
      if (s.role !== 'leader' && s.leader !== NONE) return s.leader;
      stepped ||= s.role !== 'leader';
      await sleep(Math.max(5, this.opts.tickMs / 4));
    }
    return stepped ? to : NONE;
  }

  private failAll(err: Error): void {
    for (const p of this.fwdPending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.fwdPending.clear();
    for (const p of this.adminPending.values()) {
      clearTimeout(p.timer);
      p.resolve({ t: 'adminResp', rid: 0, ok: false, code: 'Unavailable', message: err.message, index: 0, retry: false });
    }
    this.adminPending.clear();
    for (const ws of this.indexWaiters.values()) for (const w of ws) w.reject(err);
    this.indexWaiters.clear();
    for (const w of this.readQueue) w.reject(err);
    this.readQueue = [];
    if (this.readRound !== undefined) for (const w of this.readRound.waiters) w.reject(err);
    this.readRound = undefined;
    for (const w of this.leaderWaiters.splice(0)) w();
  }

  async close(): Promise<void> {
    const wasClosed = this.closed;
    this.closed = true;
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
    if (!wasClosed) this.failAll(unavailable('the member is shutting down'));
    await this.idle;
    await this.transport.close();
    await this.storage.close().catch(() => undefined);
  }

  // ---- status -------------------------------------------------------------------------

  /** Leader known, caught up to the commit index it started with, not removed. */
  isReady(): boolean {
    return !this.closed && !this.removed && this.leader !== NONE && this.appliedIndex >= this.startCommit;
  }

  get isRemoved(): boolean {
    return this.removed;
  }

  get applied(): number {
    return this.appliedIndex;
  }

  coreStatus(): Status {
    return this.rn.status();
  }

  status(): LogStatus {
    const s = this.rn.status();
    const role: LogStatus['role'] = s.confState.voters.includes(this.id) ? mapRole(s.role) : 'learner';
    return { id: this.id, leaderId: s.leader === NONE ? null : s.leader, term: s.term, commitIndex: s.commit, role };
  }

  cluster(): ClusterView {
    const s = this.rn.status();
    const cfg = this.membership.current;
    const links = new Map(this.transport.links().map((l) => [l.id, l]));
    const progress = new Map((s.progress ?? []).map((p) => [p.id, p]));
    const fresh = 2 * this.opts.electionTicks * this.opts.tickMs;
    const ids = [...new Set([...s.confState.voters, this.id])].sort((a, b) => a - b);
    const members = ids.map((id): ClusterMemberView => {
      const self = id === this.id;
      const voter = s.confState.voters.includes(id);
      const link = links.get(id);
      const role: LogStatus['role'] = !voter ? 'learner' : id === s.leader ? 'leader' : self ? mapRole(s.role) : 'follower';
      let reachable = self;
      if (!self && link !== undefined && link.connected) {
        // Where traffic is expected (leader <-> follower), it must be recent; followers don't talk to each other.
        const expectTraffic = s.leader === this.id || id === s.leader;
        reachable = !expectTraffic || (link.lastHeardMs !== undefined && link.lastHeardMs < fresh);
      }
      return {
        id,
        peer: this.addressOf(id) ?? '',
        http: self ? this.http : (this.peerHttp.get(id) ?? cfg.addresses.get(id)?.http ?? ''),
        role,
        matchIndex: self ? s.lastIndex : (progress.get(id)?.match ?? 0),
        reachable,
      };
    });
    return { id: this.id, leaderId: s.leader === NONE ? null : s.leader, term: s.term, commitIndex: s.commit, members };
  }

  metrics(): ClusterMetrics {
    const s = this.rn.status();
    return {
      term: s.term,
      commitIndex: s.commit,
      appliedIndex: this.appliedIndex,
      isLeader: s.role === 'leader',
      leaderChanges: this.leaderChanges,
      forwarded: this.forwarded,
      followerLag: (s.progress ?? []).filter((p) => p.id !== this.id).map((p) => ({ id: p.id, lag: Math.max(0, s.lastIndex - p.match) })),
    };
  }
}
