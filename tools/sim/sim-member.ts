/**
 * One simulated member process: the real runtime — RaftNode (src/cluster/raft-node.ts) and
 * Member (src/node/member.ts) with its DataTree — over the in-memory transport and an
 * in-memory disk (src/storage/memory.ts), on a clock of virtual time (virtual-clock.ts).
 * A crash kills the process's timers, stops its disk (what was not yet written is lost,
 * an append may be torn) and closes its transport; a restart builds a new process from
 * what the disk kept, as `zgate serve` does from its data directory.
 */
import { SILENT } from '../../src/cluster/logger.js';
import { bootstrapStartState, RaftNode, type RaftNodeOptions } from '../../src/cluster/raft-node.js';
import type { MemoryNetwork, MemoryTransport } from '../../src/cluster/transport-memory.js';
import type { ApplyListener } from '../../src/node/member.js';
import { Member } from '../../src/node/member.js';
import type { CommittedEntry, ReplicatedLog } from '../../src/log/replicated-log.js';
import type { Entry, RawNode } from '../../src/raft/index.js';
import { MemoryStorage, type MemoryState } from '../../src/storage/memory.js';
import type { Prng } from '../../src/util/prng.js';
import { TimerOwner, type VirtualTime } from './virtual-clock.js';
import { WatchRecorder } from './watch-recorder.js';

/** What the simulation hears from a member process (its checkers' inputs). */
export interface MemberProbe {
  ready(m: SimMember): void;
  persisted(m: SimMember, entries: readonly Entry[]): void;
  applied(m: SimMember, e: Entry): void;
  handed(m: SimMember, e: CommittedEntry): void;
  onApply(m: SimMember): ApplyListener;
  /** What the process's watch hub delivered to its recursive watch on '/'. */
  delivered(m: SimMember, zxid: number, events: string): void;
  violation(m: SimMember, message: string): void;
  installed(m: SimMember, index: number): void;
  fatal(m: SimMember, e: Error): void;
  /** The process is built over its disk and about to start (nothing applied yet). */
  starting(m: SimMember): void;
  /** Milliseconds the next disk write takes (0: at once), or 'crash' to crash while it is written. */
  diskDelay(m: SimMember): number | 'crash';
}

export interface ProcessConfig {
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  snapshotEntries: number;
  /** A process's clock runs at 1 ± up to this (0: exact). */
  drift: number;
  core: NonNullable<RaftNodeOptions['coreTuning']>;
}

interface Process {
  owner: TimerOwner;
  storage: MemoryStorage;
  transport: MemoryTransport;
  node: RaftNode;
  member: Member;
  watcher: WatchRecorder;
}

export class SimMember {
  private proc: Process | undefined;
  /** What the disk holds while the process is down (and at its start). */
  private disk: MemoryState;
  /** Stopped for good: removed from the cluster. */
  removed = false;
  /** Tick at which to stop it (its removal committed), or -1. */
  stopAt = -1;
  restartAt = -1;
  /** Bumped at each start: a crash scheduled for an earlier incarnation is void. */
  incarnation = 0;
  /** The last term in which this member was seen leading. */
  ledTerm = 0;
  /** The commit index at the last check. */
  seenCommit = 0;
  /** A crash is already scheduled (fresh leader, commit). */
  crashPending = false;
  /** Digest of what this process applied (the Raft checker's state machine). */
  appHash = 0;

  constructor(
    readonly id: number,
    /** Initial voters (a member of the first cluster) or none (a member that joins later). */
    voters: number[],
  ) {
    this.disk = voters.length > 0 ? { ...bootstrapStartState(voters) } : { hardState: { term: 0, vote: 0, commit: 0 }, entries: [] };
  }

  get up(): boolean {
    return this.proc !== undefined;
  }

  get node(): RaftNode {
    return this.proc!.node;
  }

  get member(): Member {
    return this.proc!.member;
  }

  get watcher(): WatchRecorder {
    return this.proc!.watcher;
  }

  get core(): RawNode {
    return this.proc!.node.rawNode;
  }

  get owner(): TimerOwner | undefined {
    return this.proc?.owner;
  }

  get durable(): MemoryState {
    return this.disk;
  }

  /** Starts a process over what the disk holds. Only microtasks: no virtual time passes. */
  async start(time: VirtualTime, net: MemoryNetwork, peers: ReadonlyMap<number, string>, cfg: ProcessConfig, prng: Prng, probe: MemberProbe): Promise<void> {
    this.incarnation++;
    const rate = cfg.drift > 0 ? 1 + (prng.float() * 2 - 1) * cfg.drift : 1;
    const owner = new TimerOwner(`m${this.id}.${this.incarnation}`, rate, time.now);
    const clock = time.clock(owner);
    const storage = new MemoryStorage(this.disk, { writeDelay: () => this.diskWrite(probe, clock) });
    const transport = net.transport(this.id, `http://m${this.id}`);
    const s = this.disk;
    const node = await RaftNode.create(
      {
        id: this.id,
        storage,
        transport,
        flagPeers: peers,
        http: `http://m${this.id}`,
        logger: SILENT,
        onFatal: (e) => probe.fatal(this, e),
        tickMs: cfg.tickMs,
        electionTicks: cfg.electionTicks,
        heartbeatTicks: cfg.heartbeatTicks,
        requestTimeoutMs: 3000,
        readTimeoutMs: 1000,
        forwardAckMs: 500,
        random: prng.split(),
        // Unique per process without a draw from the seed's stream (which would change every seed's run).
        requestIdBase: (this.id * 4096 + this.incarnation) * 2 ** 32,
        clock,
        coreTuning: cfg.core,
        observer: { ready: () => probe.ready(this), persisted: (ents) => probe.persisted(this, ents), applied: (e) => probe.applied(this, e) },
      },
      { hardState: s.hardState, entries: s.entries, ...(s.snapshot ? { snapshot: s.snapshot } : {}) },
    );
    const member = new Member(this.tapped(node, probe), { id: this.id, runId: prng.int(2 ** 32), snapshotEntries: cfg.snapshotEntries, requestTimeoutMs: 3000 }, clock);
    member.onApply(probe.onApply(this));
    node.setSnapshotInstaller((index, data) => {
      member.installSnapshot(index, data);
      probe.installed(this, index);
    });
    await member.recover(s.snapshot ? { snapshot: { index: s.snapshot.meta.index, data: s.snapshot.data }, entries: [] } : { entries: [] });
    // After the probe's onApply listener: a delivery is compared with the events just applied.
    const watcher = new WatchRecorder(member, clock, (zxid, events) => probe.delivered(this, zxid, events), (msg) => probe.violation(this, msg));
    this.proc = { owner, storage, transport, node, member, watcher };
    probe.starting(this);
    await node.start();
  }

  /** The member's log, with the entries it is handed shown to the checkers first. */
  private tapped(node: RaftNode, probe: MemberProbe): ReplicatedLog {
    return {
      propose: (d) => node.propose(d),
      readIndex: () => node.readIndex(),
      saveSnapshot: (i, d) => node.saveSnapshot(i, d),
      status: () => node.status(),
      close: () => node.close(),
      onCommit: (handler) =>
        node.onCommit((entries) => {
          for (const e of entries) probe.handed(this, e);
          handler(entries);
        }),
    };
  }

  private diskWrite(probe: MemberProbe, clock: ReturnType<VirtualTime['clock']>): Promise<void> | undefined {
    const d = probe.diskDelay(this);
    if (d === 'crash') return new Promise(() => undefined); // the simulation crashes it meanwhile
    if (d <= 0) return undefined;
    return new Promise((r) => clock.setTimeout(r, d));
  }

  /**
   * The process dies: its timers with it, its disk keeps what was written (and of an append
   * in progress a prefix: `keepTorn`), its address refuses connections. Returns whether a
   * write was torn.
   */
  crash(time: VirtualTime, keepTorn: (n: number) => number): boolean {
    const p = this.proc!;
    this.proc = undefined;
    time.kill(p.owner);
    p.watcher.close();
    let torn = false;
    this.disk = p.storage.crash((n) => {
      torn = true;
      return keepTorn(n);
    });
    void p.transport.close();
    this.crashPending = false;
    this.seenCommit = 0;
    return torn;
  }
}
