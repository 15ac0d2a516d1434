/**
 * RaftNode: one member's Raft-replicated log, the ReplicatedLog the Member writes through
 * (etcd-io/raft's `Node` around its `RawNode`). It wires the parts, each owning one concern:
 *
 * - node-loop.ts: the tick, the Ready loop (persist before send, apply in order), snapshots
 *   in and out;
 * - forwarding.ts: writes (and session keepalives) from a follower to the leader;
 * - read-index.ts: batched ReadIndex rounds for linearizable reads;
 * - admin.ts: membership changes and leadership transfer;
 * - cluster-view.ts: status, the cluster view and metrics;
 * - peer-directory.ts: whom to dial, who may call.
 *
 * Time and randomness are injected (a Clock, a RandomSource), so that the simulator
 * (tools/sim) runs this very code on virtual time.
 */
import { randomInt } from 'node:crypto';
import type { CommittedEntry, LogStatus, ReplicatedLog } from '../log/replicated-log.js';
import { bootstrapState, NONE, type NodeId, type RandomSource, type RawNode, type Status } from '../raft/index.js';
import type { Storage } from '../storage/index.js';
import { assert } from '../util/assert.js';
import { systemClock, type Clock } from '../util/clock.js';
import { Prng } from '../util/prng.js';
import { MembershipAdmin } from './admin.js';
import { clusterMetrics, clusterView, logStatus, type ClusterMetrics, type ClusterView } from './cluster-view.js';
import { toStorageEntry } from './entries.js';
import { WriteForwarder } from './forwarding.js';
import type { ClusterLogger } from './logger.js';
import { NodeLoop, type CoreTuning, type LoopObserver, type StartState } from './node-loop.js';
import { ReadIndexBatcher } from './read-index.js';
import type { Transport, TransportHandler } from './transport.js';
import type { ControlFrame } from './wire.js';

export type { StartState } from './node-loop.js';
export type { ClusterMemberView, ClusterMetrics, ClusterView } from './cluster-view.js';

export interface RaftNodeOptions {
  id: NodeId;
  storage: Storage;
  transport: Transport;
  /** This member's --peers: dialed as given (they win over replicated addresses). */
  flagPeers: ReadonlyMap<NodeId, string>;
  /** This member's own HTTP URL (for /v1/cluster). */
  http: string;
  logger: ClusterLogger;
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
  /** The core's randomness (election timeouts). Default: seeded from the system's. */
  random?: RandomSource;
  /** Where this run's forwarded-request ids start. Default: random, so two runs of a member never share ids. */
  requestIdBase?: number;
  /** Timers and clocks. Default: the system's. */
  clock?: Clock;
  /** Tooling's view into the loop (the simulator's checkers). */
  observer?: LoopObserver;
  /** The core's knobs beyond timing (the simulator varies them per seed). */
  coreTuning?: CoreTuning;
}

/** The durable state of a brand-new cluster member (the core's bootstrap: one committed 'add' per voter). */
export function bootstrapStartState(voters: readonly number[]): StartState {
  const b = bootstrapState(voters);
  return { hardState: b.hardState, entries: b.entries.map(toStorageEntry) };
}

export class RaftNode implements ReplicatedLog {
  readonly id: NodeId;
  private readonly loop: NodeLoop;
  private readonly forwarder: WriteForwarder;
  private readonly reads: ReadIndexBatcher;
  private readonly admin: MembershipAdmin;
  private readonly http: string;
  private started = false;

  private constructor(opts: RaftNodeOptions, state: StartState) {
    this.id = opts.id;
    this.http = opts.http;
    this.loop = new NodeLoop(
      {
        id: opts.id,
        storage: opts.storage,
        transport: opts.transport,
        flagPeers: opts.flagPeers,
        clock: opts.clock ?? systemClock,
        logger: opts.logger,
        random: opts.random ?? new Prng(randomInt(2 ** 47)),
        requestIdBase: opts.requestIdBase ?? randomInt(1, 2 ** 47) * 32,
        timing: {
          tickMs: opts.tickMs ?? 100,
          electionTicks: opts.electionTicks ?? 10,
          heartbeatTicks: opts.heartbeatTicks ?? 1,
          requestTimeoutMs: opts.requestTimeoutMs ?? 10_000,
          readTimeoutMs: opts.readTimeoutMs ?? 5_000,
          forwardAckMs: opts.forwardAckMs ?? 2_000,
        },
        onFatal: opts.onFatal,
        ...(opts.observer !== undefined ? { observer: opts.observer } : {}),
        ...(opts.coreTuning !== undefined ? { tuning: opts.coreTuning } : {}),
      },
      state,
    );
    this.forwarder = new WriteForwarder(this.loop);
    this.reads = new ReadIndexBatcher(this.loop);
    this.admin = new MembershipAdmin(this.loop);
    this.loop.setHooks({
      entryApplied: (index, term) => this.admin.entryApplied(index, term),
      snapshotInstalled: (index) => this.admin.snapshotInstalled(index),
      readState: (key, index) => this.reads.readState(key, index),
      leaderChanged: (prev) => {
        this.forwarder.leaderChanged(prev);
        this.reads.leaderChanged();
      },
      tick: (now) => this.reads.tick(now),
      stopped: (err) => {
        this.forwarder.stopped(err);
        this.admin.stopped(err);
        this.reads.stopped(err);
      },
    });
  }

  /**
   * Builds the log over what storage recovered. `bootstrap`: the voters of a brand-new
   * cluster, written to the (empty) storage first. Call start() once the member has restored
   * the snapshot (recovered.snapshot): committed entries after it are then handed over.
   */
  static async create(opts: RaftNodeOptions, recovered: StartState, bootstrap?: readonly number[]): Promise<RaftNode> {
    let state = recovered;
    if (bootstrap !== undefined) {
      assert(recovered.entries.length === 0 && recovered.snapshot === undefined && recovered.hardState.term === 0, 'bootstrap on a non-empty log');
      state = bootstrapStartState(bootstrap);
      await opts.storage.append(state.entries);
      await opts.storage.saveHardState(state.hardState);
      opts.logger.info({ voters: bootstrap }, 'bootstrapped a new cluster: the initial members are the --peers list');
    }
    return new RaftNode(opts, state);
  }

  /** How a snapshot received from the leader replaces the member's state (Member.installSnapshot). */
  setSnapshotInstaller(fn: (index: number, data: Uint8Array) => void): void {
    this.loop.setSnapshotInstaller(fn);
  }

  /** Where session keepalives forwarded by followers go on the leader (SessionService.receiveKeepalives). */
  setKeepaliveReceiver(fn: (ids: bigint[]) => void): void {
    this.forwarder.setKeepaliveReceiver(fn);
  }

  /** Leader: seconds from each proposal (its own or forwarded) to its apply here. */
  onProposalLatency(fn: (seconds: number) => void): void {
    this.loop.onProposalLatency(fn);
  }

  /** A follower's batch of session keepalives to the leader; false when there is no leader to send them to. */
  forwardKeepalives(ids: bigint[]): boolean {
    return this.forwarder.forwardKeepalives(ids);
  }

  onCommit(handler: (entries: CommittedEntry[]) => void): void {
    this.loop.onCommit(handler);
  }

  /** Starts the transport and the tick timer. */
  async start(): Promise<void> {
    assert(!this.started, 'RaftNode started twice');
    this.started = true;
    const loop = this.loop;
    const h: TransportHandler = {
      raft: (m, cfg) => loop.onRaft(m, cfg),
      control: (from, f) => this.onControl(from, f),
      unreachable: (to) => loop.onUnreachable(to),
      linkDown: (to) => this.forwarder.failForwards(to, `the link to leader ${to} broke`),
      refused: (to) => loop.onPeerRefused(to),
      snapshotStatus: (to, ok) => loop.onSnapshotStatus(to, ok),
      hello: (from, info) => loop.peers.hello(from, info.http),
    };
    loop.peers.update();
    await loop.transport.start(h);
    loop.start();
  }

  private onControl(from: NodeId, f: ControlFrame): void {
    if (this.loop.closed) return;
    switch (f.t) {
      case 'fwd':
        return this.forwarder.onForward(from, f);
      case 'fwdResp':
        return this.forwarder.onForwardResponse(from, f);
      case 'admin':
        void this.admin.onAdmin(from, f);
        return;
      case 'adminResp':
        return this.admin.onAdminResponse(from, f);
      case 'ka':
        return this.forwarder.onKeepalives(f);
    }
  }

  // ---- the ReplicatedLog ----------------------------------------------------------------

  propose(data: Uint8Array): Promise<void> {
    return this.forwarder.propose(data);
  }

  readIndex(): Promise<number> {
    return this.reads.readIndex();
  }

  saveSnapshot(index: number, data: Uint8Array): Promise<void> {
    return this.loop.saveSnapshot(index, data);
  }

  async close(): Promise<void> {
    await this.loop.close();
  }

  // ---- membership and leadership --------------------------------------------------------

  /** Adds a voter (its addresses replicated first); on a follower, asks the leader. Resolves once applied here. */
  addMember(id: NodeId, peer: string, http: string): Promise<{ index: number }> {
    return this.admin.addMember(id, peer, http);
  }

  removeMember(id: NodeId): Promise<{ index: number }> {
    return this.admin.removeMember(id);
  }

  /** On the leader: hands leadership to the most caught-up reachable follower; the new leader, or NONE. */
  transferLeadership(timeoutMs = 2000): Promise<NodeId> {
    return this.admin.transferLeadership(timeoutMs);
  }

  /** May `id` call us? A member we know of (configured, replicated, or in --peers). */
  accepts(id: NodeId): boolean {
    return this.loop.peers.accepts(id);
  }

  // ---- status ---------------------------------------------------------------------------

  /** Leader known, caught up to the commit index it started with, not removed. */
  isReady(): boolean {
    const l = this.loop;
    return !l.closed && !l.removed && l.leader !== NONE && l.applied >= l.startCommit;
  }

  get isRemoved(): boolean {
    return this.loop.removed;
  }

  get applied(): number {
    return this.loop.applied;
  }

  /** The core itself, for tooling's checkers (the simulator); the runtime never steps it from outside. */
  get rawNode(): RawNode {
    return this.loop.core;
  }

  coreStatus(): Status {
    return this.loop.core.status();
  }

  status(): LogStatus {
    return logStatus(this.loop);
  }

  cluster(): ClusterView {
    return clusterView(this.loop, this.http);
  }

  metrics(): ClusterMetrics {
    return clusterMetrics(this.loop, this.forwarder.forwarded);
  }
}
