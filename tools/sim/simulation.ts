/**
 * The deterministic simulator of zgate's runtime. Each member is the code that ships
 * (sim-member.ts: RaftNode's node loop, forwarding, read index and admin, the Member and its
 * DataTree) over the in-memory transport and disk, on virtual time (virtual-clock.ts). One
 * seed fixes everything: the cluster's configuration (swarm testing: size, timeouts, core
 * knobs, snapshot thresholds, fault rates), the network's drops, duplicates, delays and
 * partitions (network.ts), disk latency, crashes (at awkward moments too: a fresh leader,
 * right after a commit, in the middle of a write) and restarts from what the disk kept,
 * clock drift, and the workload (real Ops through Member.write, reads through the read
 * index, leadership transfers, membership changes through the admin path).
 *
 * Determinism: nothing but the virtual clock schedules work. The simulation runs one timer
 * at a time and drains the microtasks it caused (a real setImmediate, which no product code
 * uses under the simulator) before the next.
 *
 * Phase 1 (safety): faults for `safetyTicks` ticks; after every event the checkers run
 * (checker.ts on the Raft core, member-checker.ts on the members). Phase 2 (liveness):
 * every fault is healed and every crashed member restarted; the cluster must elect a leader,
 * commit in its term, answer a probe write through a member and have every voter apply
 * everything committed, within `livenessTicks` ticks.
 */
import { MemoryNetwork } from '../../src/cluster/transport-memory.js';
import { fromStorageEntry } from '../../src/cluster/entries.js';
import { ZgateError } from '../../src/core/errors.js';
import type { Op } from '../../src/core/types.js';
import { decodeConfChange, type Entry } from '../../src/raft/index.js';
import { AssertionFailure } from '../../src/util/assert.js';
import { Prng } from '../../src/util/prng.js';
import { SafetyChecker, SafetyViolation } from './checker.js';
import { MemberChecker } from './member-checker.js';
import { SimNetwork, type NetConfig } from './network.js';
import { SimMember, type MemberProbe, type ProcessConfig } from './sim-member.js';
import { VirtualTime, type TimerOwner } from './virtual-clock.js';
import { Workload } from './workload.js';

/** Virtual milliseconds per tick of every member's Raft clock. */
export const TICK_MS = 10;

export interface SimOptions {
  seed: number;
  /** Ticks of the fault phase. Default 300. */
  safetyTicks?: number;
  /** Tick budget of the healed phase: this many ticks plus one per entry in the longest log. Default 300. */
  livenessTicks?: number;
  /** Keep a trace of events (printed on failure). */
  trace?: boolean;
}

export interface SimConfig {
  members: number;
  electionTick: number;
  heartbeatTick: number;
  preVote: boolean;
  checkQuorum: boolean;
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  maxInflightBytes: number;
  maxUncommittedEntriesSize: number;
  /** Member snapshot threshold (entries): compaction, and snapshots sent to laggards. */
  snapshotEntries: number;
  net: NetConfig;
  /** Per tick probabilities. */
  proposeRate: number;
  crashRate: number;
  /** Per tick: crash the current leader (leader changes are where Raft's subtle bugs live). */
  leaderCrashRate: number;
  /** Probability that a newly elected leader crashes within a few ticks. */
  freshLeaderCrash: number;
  /** Probability that a member crashes right after its commit index advanced. */
  commitCrash: number;
  /** Probability that a member crashes while a disk write is in progress (an append may be torn). */
  midWriteCrash: number;
  partitionRate: number;
  healRate: number;
  /** Per tick: heal every partition and restart every crashed member at once. */
  recoveryRate: number;
  readRate: number;
  transferRate: number;
  confChangeRate: number;
  /** A member's clock runs at 1 ± up to this. */
  drift: number;
  /** A disk write takes 0..diskDelayMax ms (steps happen meanwhile). */
  diskDelayMax: number;
}

export interface SimStats {
  /** Distinct terms that had a leader. */
  leaderTerms: number;
  snapshotsInstalled: number;
  /** Membership changes committed and applied (each counted once). */
  confChangesApplied: number;
  readsAnswered: number;
  transfers: number;
  /** Crashes that tore an append (a prefix of it survived). */
  tornWrites: number;
  /** Restarts whose log held a term above the persisted hard state (the core's fix-up). */
  termFixups: number;
  /** Writes answered by a member (ok or a ZooKeeper error), and answered Unavailable. */
  writesAnswered: number;
  writesUnavailable: number;
  sessionsOpened: number;
  /** Deliveries of the members' watch hubs to their recursive watches, each checked against the applied events. */
  watchDeliveries: number;
}

export interface SimResult {
  seed: number;
  config: SimConfig;
  /** Steps: timers run (message deliveries, ticks, disk writes, client timeouts) and workload actions. */
  steps: number;
  ticks: number;
  /** Ticks the healed cluster needed to converge. */
  convergeTicks: number;
  commitIndex: number;
  maxTerm: number;
  crashes: number;
  /** What happened, to show that each feature was exercised. */
  stats: SimStats;
  messages: number;
  dropped: number;
  checks: number;
}

export function emptyStats(): SimStats {
  return { leaderTerms: 0, snapshotsInstalled: 0, confChangesApplied: 0, readsAnswered: 0, transfers: 0, tornWrites: 0, termFixups: 0, writesAnswered: 0, writesUnavailable: 0, sessionsOpened: 0, watchDeliveries: 0 };
}

export function addStats(a: SimStats, b: SimStats): SimStats {
  const out = { ...a };
  for (const k of Object.keys(b) as (keyof SimStats)[]) out[k] += b[k];
  return out;
}

export class SimFailure extends Error {
  constructor(
    readonly seed: number,
    readonly reason: string,
    readonly trace: string[],
  ) {
    super(`sim seed ${seed} failed: ${reason}\n  replay: npm run sim -- --seed=${seed}`);
    this.name = 'SimFailure';
  }
}

/**
 * A seed's configuration (swarm testing: each seed turns features and faults on or off at
 * random, so that no fault masks another everywhere). Some seeds are "violent": members,
 * and leaders in particular, crash often and at awkward moments.
 */
export function configFor(prng: Prng): SimConfig {
  const lossy = prng.chance(0.7);
  const violent = prng.chance(0.4);
  const pick = <T>(calm: T[], hard: T[]): T => prng.pick(violent ? hard : calm);
  return {
    members: pick([1, 3, 3, 3, 5, 5, 5], [3, 3, 3, 5]),
    electionTick: prng.pick([6, 10, 10]),
    heartbeatTick: prng.pick([1, 1, 2]),
    preVote: prng.chance(0.7),
    checkQuorum: prng.chance(0.7),
    maxSizePerMsg: pick([64, 256, 1 << 20], [1, 64, 256]),
    maxInflightMsgs: prng.pick([1, 2, 4, 64]),
    maxInflightBytes: prng.pick([0, 0, 512, 4096]),
    maxUncommittedEntriesSize: prng.pick([1024, 8192, 1 << 20]),
    snapshotEntries: prng.pick([8, 20, 60, 100_000]),
    net: {
      dropRate: lossy ? prng.pick([0.01, 0.05, 0.1, 0.2]) : 0,
      dupRate: lossy ? prng.pick([0, 0.02, 0.1]) : 0,
      minDelay: 1,
      maxDelay: prng.pick([3, TICK_MS / 2, TICK_MS, 2 * TICK_MS]),
      longDelayRate: lossy ? prng.pick([0, 0.01, 0.05]) : 0,
      longDelayMax: 12 * TICK_MS,
    },
    proposeRate: prng.pick([0.1, 0.3, 0.6]),
    crashRate: pick([0, 0.005, 0.02], [0.02, 0.05]),
    leaderCrashRate: pick([0, 0.02, 0.05], [0.05, 0.15]),
    freshLeaderCrash: pick([0, 0, 0.2], [0.3, 0.5]),
    commitCrash: pick([0, 0, 0.01], [0.05, 0.2]),
    midWriteCrash: pick([0, 0, 0.005], [0.01, 0.03]),
    partitionRate: prng.pick([0, 0.01, 0.03]),
    healRate: prng.pick([0.02, 0.05, 0.1]),
    recoveryRate: pick([0, 0.01], [0.01, 0.03]),
    readRate: prng.pick([0, 0.05, 0.2]),
    transferRate: prng.pick([0, 0, 0.01]),
    confChangeRate: prng.chance(0.3) ? prng.pick([0.01, 0.03]) : 0,
    drift: prng.pick([0, 0, 0.02, 0.1]),
    diskDelayMax: prng.pick([0, 2, 8, 20]),
  };
}

/** FNV-1a over (digest, entry): the Raft checker's state machine is the digest of what was applied. */
function digest(h: number, e: Entry): number {
  let x = (h ^ 0x811c9dc5) >>> 0;
  const mix = (b: number) => {
    x ^= b & 0xff;
    x = Math.imul(x, 0x01000193) >>> 0;
  };
  for (const v of [e.index, e.term, e.type === 'normal' ? 1 : 2]) for (let s = 0; s < 32; s += 8) mix(v >>> s);
  for (let i = 0; i < e.data.length; i++) mix(e.data[i]!);
  return x;
}

/** Every microtask the last timer caused has run once this resolves (no product code uses setImmediate under the simulator). */
const drain = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class Simulation {
  readonly prng: Prng;
  readonly config: SimConfig;
  readonly time = new VirtualTime();
  readonly net: SimNetwork;
  readonly memNet: MemoryNetwork;
  readonly checker = new SafetyChecker();
  readonly memberChecker = new MemberChecker();
  readonly members = new Map<number, SimMember>();
  /** Every member's --peers (shared: a member added later is listed for all). */
  private readonly peers = new Map<number, string>();
  private readonly byOwner = new Map<TimerOwner, SimMember>();
  private readonly workload: Workload;
  private readonly probe: MemberProbe;
  private readonly trace: string[] | undefined;
  private tick = 0;
  private steps = 0;
  private crashes = 0;
  private readonly stats = emptyStats();
  private readonly leaderTerms = new Set<number>();
  private readonly confIndexes = new Set<number>();
  private reads = 0;
  private nextId: number;
  private liveness = false;
  private probeWrite: { term: number; tick: number; zxid?: number; failed?: boolean } | undefined = undefined;
  private probes = 0;
  private failure: Error | undefined;

  constructor(
    readonly seed: number,
    private readonly opts: SimOptions,
  ) {
    this.prng = new Prng(seed);
    this.config = configFor(this.prng.split());
    this.net = new SimNetwork(this.prng.split(), this.time, { ...this.config.net });
    this.memNet = new MemoryNetwork({ clock: this.time.clock(this.time.simOwner), links: this.net });
    this.workload = new Workload(this.prng.split());
    this.trace = opts.trace ? [] : undefined;
    this.probe = this.makeProbe();
    this.nextId = this.config.members + 1;
  }

  private log(s: string): void {
    if (this.trace === undefined) return;
    this.trace.push(`t=${this.tick}.${Math.floor(this.time.now % TICK_MS)} ${s}`);
    if (this.trace.length > 4000) this.trace.splice(0, 1000);
  }

  private fail(e: Error): void {
    this.failure ??= e;
  }

  private processConfig(): ProcessConfig {
    const c = this.config;
    return {
      tickMs: TICK_MS,
      electionTicks: c.electionTick,
      heartbeatTicks: c.heartbeatTick,
      snapshotEntries: c.snapshotEntries,
      drift: this.liveness ? 0 : c.drift,
      core: { preVote: c.preVote, checkQuorum: c.checkQuorum, maxSizePerMsg: c.maxSizePerMsg, maxInflightMsgs: c.maxInflightMsgs, maxInflightBytes: c.maxInflightBytes, maxUncommittedEntriesSize: c.maxUncommittedEntriesSize },
    };
  }

  // ---- what the members tell the checkers -----------------------------------------------

  private makeProbe(): MemberProbe {
    return {
      ready: (m) => this.check(m),
      persisted: (m, ents) => this.checker.persisted(m.id, ents, (i) => m.core.raft.storage.term(i)),
      applied: (m, e) => this.entryApplied(m, e),
      handed: (m, e) => this.memberChecker.entry(m.id, e.index, e.data),
      onApply: (m) => (zxid, events, outcome) => this.memberChecker.applied(m.id, zxid, events, outcome, m.member.sessions),
      delivered: (m, zxid, events) => {
        this.stats.watchDeliveries++;
        this.memberChecker.delivered(m.id, zxid, events);
      },
      violation: (m, message) => this.fail(new SafetyViolation(`member ${m.id}: ${message}`)),
      installed: (m, index) => {
        const h = this.checker.appliedDigest(index);
        if (h === undefined) this.fail(new SafetyViolation(`member ${m.id} installed a snapshot at ${index}, which no member applied`));
        m.appHash = h ?? 0;
        this.stats.snapshotsInstalled++;
        this.log(`${m.id} installed a snapshot at ${index}`);
      },
      starting: (m) => this.starting(m),
      fatal: (m, e) => this.fail(new SafetyViolation(`member ${m.id} stopped (fail-stop): ${e.stack ?? e.message}`)),
      diskDelay: (m) => {
        const c = this.config;
        if (this.liveness) return 0;
        if (this.prng.chance(c.midWriteCrash)) {
          this.midWriteCrash(m);
          return 'crash';
        }
        return c.diskDelayMax === 0 || this.prng.chance(0.5) ? 0 : this.prng.range(1, c.diskDelayMax);
      },
    };
  }

  private entryApplied(m: SimMember, e: Entry): void {
    m.appHash = digest(m.appHash, e);
    this.checker.applied(m.id, e, m.appHash);
    if (e.type !== 'confChange') return;
    const cc = decodeConfChange(e.data);
    if (e.index > this.config.members && !this.confIndexes.has(e.index)) {
      this.confIndexes.add(e.index); // a membership change (not the bootstrap), counted once
      this.stats.confChangesApplied++;
      this.log(`${m.id} applied ${cc.type} ${cc.id} at ${e.index}`);
    }
    if (cc.type === 'remove') {
      // The operator stops a member once its removal has committed.
      const x = this.members.get(cc.id);
      if (x !== undefined && !x.removed && x.stopAt < 0) x.stopAt = this.tick + this.prng.range(0, 3 * this.config.electionTick);
    }
  }

  // ---- processes ----------------------------------------------------------------------------

  private async addMember(id: number, voters: number[]): Promise<SimMember> {
    const m = new SimMember(id, voters);
    this.members.set(id, m);
    this.peers.set(id, `m${id}:${9000 + id}`);
    await this.start(m);
    return m;
  }

  private async start(m: SimMember): Promise<void> {
    const d = m.durable;
    m.restartAt = -1;
    const snapIndex = d.snapshot?.meta.index ?? 0;
    m.appHash = snapIndex > 0 ? (this.checker.appliedDigest(snapIndex) ?? 0) : 0;
    await m.start(this.time, this.memNet, this.peers, this.processConfig(), this.prng, this.probe);
    this.check(m);
  }

  private starting(m: SimMember): void {
    const d = m.durable;
    this.byOwner.set(m.owner!, m);
    if (m.core.raft.term > d.hardState.term) this.stats.termFixups++;
    this.checker.restarted(m.id, m.core.raft.log.committed);
    this.checker.persisted(m.id, d.entries.map(fromStorageEntry), (i) => m.core.raft.storage.term(i));
    const r = m.core.raft;
    this.log(`${m.id} started: term ${r.term} commit ${r.log.committed} log [${r.log.firstIndex()}, ${r.log.lastIndex()}]`);
    this.check(m);
  }

  private crash(m: SimMember, permanently: boolean): void {
    if (!m.up) return;
    this.byOwner.delete(m.owner!);
    const wasLeaderOf = m.core.raft.role === 'leader';
    if (m.crash(this.time, (n) => this.prng.int(n + 1))) this.stats.tornWrites++;
    this.crashes++;
    // Its address now refuses connections; the followers that call it (not all: the network
    // may be cut) learn that their leader is gone.
    for (const f of this.members.values()) if (f.up && f.core.raft.lead === m.id && this.prng.chance(0.5)) this.memNet.refused(m.id, f.id);
    if (permanently) {
      m.removed = true;
      this.log(`${m.id} stopped (removed)`);
    } else {
      const down = this.liveness ? 1 : this.prng.range(1, Math.round(this.prng.pick([0.3, 2, 8]) * this.config.electionTick));
      m.restartAt = this.tick + down;
      this.log(`${m.id} crashed${wasLeaderOf ? ' (leader)' : ''}, restarts at ${m.restartAt}`);
    }
  }

  /** `m` crashes now, in the middle of a disk write (which never completes). */
  private midWriteCrash(m: SimMember): void {
    const inc = m.incarnation;
    this.log(`${m.id} crashes while writing`);
    this.time.at(this.time.now, () => {
      if (m.up && m.incarnation === inc) this.crash(m, false);
    });
  }

  /** Crashes `m` after `ms` of virtual time, if it is still the same process then. */
  private crashLater(m: SimMember, ms: number): void {
    const inc = m.incarnation;
    m.crashPending = true;
    this.time.at(this.time.now + ms, () => {
      if (m.up && m.incarnation === inc && !this.liveness) this.crash(m, false);
    });
  }

  private check(m: SimMember): void {
    if (!m.up) return;
    const r = m.core.raft;
    this.checker.check(m.id, m.core);
    if (r.role === 'leader' && !this.leaderTerms.has(r.term)) {
      this.leaderTerms.add(r.term);
      this.stats.leaderTerms++;
    }
    if (this.liveness || m.crashPending) return;
    const c = this.config;
    if (r.role === 'leader' && r.term !== m.ledTerm) {
      m.ledTerm = r.term;
      if (this.prng.chance(c.freshLeaderCrash)) this.crashLater(m, this.prng.range(0, this.prng.pick([1, 4]) * TICK_MS));
    }
    if (r.log.committed > m.seenCommit) {
      if (m.seenCommit > 0 && this.prng.chance(c.commitCrash)) this.crashLater(m, this.prng.chance(0.5) ? 0 : this.prng.range(1, 2 * TICK_MS));
      m.seenCommit = r.log.committed;
    }
  }

  // ---- the workload -------------------------------------------------------------------------

  private upMembers(): SimMember[] {
    const out: SimMember[] = [];
    for (const m of this.members.values()) if (m.up) out.push(m);
    return out;
  }

  private leader(): SimMember | undefined {
    let best: SimMember | undefined;
    for (const m of this.members.values()) {
      if (!m.up || m.core.raft.role !== 'leader') continue;
      if (best === undefined || m.core.raft.term > best.core.raft.term) best = m;
    }
    return best;
  }

  /** A client's outcome: an answer, Unavailable, or (anything else) a bug. */
  private outcome(what: string, e: unknown): void {
    if (e instanceof ZgateError) {
      if (e.code === 'Unavailable') this.stats.writesUnavailable++;
      this.log(`${what}: ${e.code}`);
      return;
    }
    this.fail(e instanceof Error ? e : new Error(String(e)));
  }

  private write(m: SimMember, op: Op): void {
    const what = `${op.op} at ${m.id}`;
    m.member.write(op).then(
      (a) => {
        this.stats.writesAnswered++;
        if (op.op === 'createSession' && a.outcome.ok) this.stats.sessionsOpened++;
        this.log(`${what}: zxid ${a.zxid} ${a.outcome.ok ? 'ok' : a.outcome.failure.code}`);
      },
      (e: unknown) => this.outcome(what, e),
    );
  }

  private read(m: SimMember): void {
    const ctx = `r${this.reads++}`;
    const min = this.checker.commitMax;
    m.node.readIndex().then(
      (index) => {
        if (index < min) this.fail(new SafetyViolation(`linearizability: read ${ctx} on ${m.id} answered at ${index}, but ${min} was committed when it was asked`));
        this.stats.readsAnswered++;
      },
      (e: unknown) => this.outcome(`read ${ctx} at ${m.id}`, e),
    );
  }

  private transfer(lead: SimMember): void {
    lead.node.transferLeadership(this.config.electionTick * TICK_MS).then(
      (to) => {
        this.log(`transfer from ${lead.id}: ${to === 0 ? 'none' : `to ${to}`}`);
        if (to !== 0) this.stats.transfers++;
      },
      (e: unknown) => this.outcome('transfer', e),
    );
  }

  private async confChange(lead: SimMember, via: SimMember): Promise<void> {
    const voters = lead.core.raft.confState.voters;
    const add = voters.length < 3 || (voters.length < 5 && this.prng.chance(0.5));
    if (add) {
      if (this.nextId > 9) return;
      const id = this.nextId++;
      await this.addMember(id, []);
      this.log(`add ${id} via ${via.id}`);
      via.node.addMember(id, this.peers.get(id)!, `http://m${id}`).then(
        (r) => this.log(`added ${id} at ${r.index}`),
        (e: unknown) => this.outcome(`add ${id}`, e),
      );
    } else {
      const id = this.prng.pick(voters);
      this.log(`remove ${id} via ${via.id}`);
      via.node.removeMember(id).then(
        (r) => this.log(`removed ${id} at ${r.index}`),
        (e: unknown) => this.outcome(`remove ${id}`, e),
      );
    }
  }

  private async actions(): Promise<void> {
    const c = this.config;
    const p = this.prng;
    // Each action sees the effects of the previous ones (a crash, a new leader).
    let up = this.upMembers();
    if (up.length > 0 && p.chance(c.proposeRate)) {
      const leaders = up.filter((m) => m.core.raft.role === 'leader');
      const at = leaders.length > 0 && p.chance(0.6) ? p.pick(leaders) : p.pick(up);
      for (let n = p.range(1, 3); n > 0; n--) this.write(at, this.workload.next());
    }
    if (up.length > 0 && p.chance(c.crashRate)) this.crash(p.pick(up), false);
    let lead = this.leader();
    if (lead !== undefined && p.chance(c.leaderCrashRate)) this.crash(lead, false);
    if (p.chance(c.partitionRate)) this.partition();
    if (this.net.partitioned && p.chance(c.healRate)) {
      this.net.heal();
      this.log('heal');
    }
    if (p.chance(c.recoveryRate)) {
      this.net.heal();
      for (const m of this.members.values()) if (!m.up && !m.removed && m.stopAt < 0) await this.start(m);
      this.log('recovery: healed, all restarted');
    }
    up = this.upMembers();
    lead = this.leader();
    if (up.length > 0 && p.chance(c.readRate)) this.read(p.pick(up));
    if (lead !== undefined && p.chance(c.transferRate)) this.transfer(lead);
    if (lead !== undefined && up.length > 0 && p.chance(c.confChangeRate)) await this.confChange(lead, p.chance(0.5) ? lead : p.pick(up));
  }

  private partition(): void {
    const ids = [...this.members.keys()].filter((id) => !this.members.get(id)!.removed);
    if (ids.length < 2) return;
    const kind = this.prng.int(3);
    if (kind === 0) {
      const x = this.prng.pick(ids);
      for (const y of ids) if (y !== x) this.net.blockBoth(x, y);
      this.log(`partition: isolate ${x}`);
    } else if (kind === 1) {
      const shuffled = this.prng.shuffle([...ids]);
      const cut = this.prng.range(1, shuffled.length - 1);
      const a = shuffled.slice(0, cut);
      const b = shuffled.slice(cut);
      for (const x of a) for (const y of b) this.net.blockBoth(x, y);
      this.log(`partition: (${a.join(',')}) | (${b.join(',')})`);
    } else {
      const x = this.prng.pick(ids);
      const y = this.prng.pick(ids.filter((i) => i !== x));
      this.net.block(x, y);
      this.log(`partition: one way ${x} -> ${y}`);
    }
  }

  // ---- phases ----------------------------------------------------------------------------

  private async heal(): Promise<void> {
    this.liveness = true;
    this.net.heal();
    // A healthy network: no loss, and a constant delay, so links are FIFO as TCP is.
    this.net.config = { dropRate: 0, dupRate: 0, minDelay: 2, maxDelay: 2, longDelayRate: 0, longDelayMax: 2 };
    for (const m of this.members.values()) {
      if (m.up || m.removed) continue;
      if (m.stopAt >= 0) m.removed = true;
      else await this.start(m);
    }
    this.log('liveness phase: all healed');
  }

  /** Liveness: a leader that committed in its term, a probe write answered through a member, every voter applied everything. */
  private converged(): boolean {
    const lead = this.leader();
    if (lead === undefined) return false;
    const r = lead.core.raft;
    if (!r.committedEntryInCurrentTerm()) return false;
    const voters = r.confState.voters.map((v) => this.members.get(v));
    if (voters.some((m) => m === undefined || !m.up)) return false;
    // A probe not answered soon is asked again: a snapshot that covered its entry on the member
    // that took it leaves it unanswered until the request timeout (Member.installSnapshot).
    const stale = this.probeWrite !== undefined && this.probeWrite.zxid === undefined && this.tick - this.probeWrite.tick > 4 * this.config.electionTick;
    if (this.probeWrite === undefined || this.probeWrite.failed === true || this.probeWrite.term < r.term || stale) {
      const at = this.prng.pick(voters)!;
      const probe: { term: number; tick: number; zxid?: number; failed?: boolean } = { term: r.term, tick: this.tick };
      this.probeWrite = probe;
      at.member.write({ op: 'create', path: `/probe${this.probes++}`, data: new Uint8Array(0), mode: 'persistent' }).then(
        (a) => (probe.zxid = a.zxid),
        (e: unknown) => {
          probe.failed = true;
          this.outcome(`probe at ${at.id}`, e);
        },
      );
      return false;
    }
    const zxid = this.probeWrite.zxid;
    if (zxid === undefined) return false;
    const target = Math.max(zxid, this.checker.commitMax);
    return voters.every((m) => m!.member.appliedZxid >= target);
  }

  private status(): string {
    const lines: string[] = [];
    for (const m of this.members.values()) {
      if (!m.up) {
        lines.push(`  ${m.id}: ${m.removed ? 'removed' : 'down'}`);
        continue;
      }
      const s = m.core.status();
      const progress = (s.progress ?? []).map((p) => `${p.id}:${p.state}/m${p.match}/n${p.next}${p.paused ? '/paused' : ''}/i${p.inflight}`).join(' ');
      lines.push(`  ${m.id}: ${s.role} term=${s.term} lead=${s.leader} commit=${s.commit} applied=${s.applied} zxid=${m.member.appliedZxid} log=[${s.firstIndex},${s.lastIndex}] voters=(${s.confState.voters.join(',')})${progress ? ` progress ${progress}` : ''}`);
    }
    return lines.join('\n');
  }

  async run(): Promise<SimResult> {
    const safety = this.opts.safetyTicks ?? 300;
    const base = this.opts.livenessTicks ?? 300;
    let budget = base;
    let convergeTicks = -1;
    try {
      const voters: number[] = [];
      for (let id = 1; id <= this.config.members; id++) voters.push(id);
      for (const id of voters) this.peers.set(id, `m${id}:${9000 + id}`); // every --peers lists them all
      for (const id of voters) await this.addMember(id, voters);
      for (this.tick = 0; this.tick < safety + budget; this.tick++) {
        if (this.tick === safety) {
          await this.heal();
          // Catching up may mean shipping every entry any log holds at the heal, one per round trip.
          let longest = this.checker.commitMax;
          for (const m of this.members.values()) if (m.up) longest = Math.max(longest, m.core.raft.log.lastIndex());
          budget = base + longest;
        }
        await this.runTick();
        if (this.liveness && this.converged()) {
          convergeTicks = this.tick - safety;
          break;
        }
      }
      if (convergeTicks >= 0) this.finalCheck();
    } catch (e) {
      if (e instanceof SafetyViolation || e instanceof AssertionFailure) {
        throw new SimFailure(this.seed, `${e.name}: ${e.message} (tick ${this.tick})\n${this.status()}`, this.trace ?? []);
      }
      throw e;
    }
    if (convergeTicks < 0) throw new SimFailure(this.seed, `liveness: no convergence within ${budget} ticks after healing\n${this.status()}`, this.trace ?? []);
    let maxTerm = 0;
    for (const m of this.members.values()) if (m.up) maxTerm = Math.max(maxTerm, m.core.raft.term);
    return {
      seed: this.seed,
      config: this.config,
      steps: this.steps,
      ticks: this.tick + 1,
      convergeTicks,
      commitIndex: this.checker.commitMax,
      maxTerm,
      crashes: this.crashes,
      stats: this.stats,
      messages: this.net.sent,
      dropped: this.net.dropped,
      checks: this.checker.checks + this.memberChecker.checks,
    };
  }

  /** Runs every timer due in this tick (one at a time, its microtasks drained), then the tick's faults and workload. */
  private async runTick(): Promise<void> {
    const end = (this.tick + 1) * TICK_MS;
    for (;;) {
      const ran = this.time.runNext(end);
      if (ran === undefined) break;
      this.steps++;
      await drain();
      this.raise();
      const m = ran.owner !== undefined ? this.byOwner.get(ran.owner) : ran.note !== undefined ? this.members.get(ran.note) : undefined;
      if (m !== undefined) this.check(m);
    }
    this.time.advanceTo(end);
    for (const m of this.members.values()) if (m.up && m.stopAt >= 0 && m.stopAt <= this.tick) this.crash(m, true);
    for (const m of this.members.values()) {
      if (m.up || m.removed || m.restartAt < 0 || m.restartAt > this.tick) continue;
      if (m.stopAt >= 0) m.removed = true; // removed while it was down: it stays stopped
      else await this.start(m);
    }
    if (!this.liveness) {
      await this.actions();
      this.steps++;
    }
    await drain();
    this.raise();
    for (const m of this.members.values()) this.check(m);
  }

  private raise(): void {
    if (this.failure !== undefined) throw this.failure instanceof SafetyViolation || this.failure instanceof AssertionFailure ? this.failure : new SafetyViolation(this.failure.stack ?? this.failure.message);
  }

  /** Members that ended at the same applied zxid hold the same tree and session table. */
  private finalCheck(): void {
    const ms = this.upMembers().map((m) => ({ id: m.id, zxid: m.member.appliedZxid, digest: m.member.tree.digest(), sessions: m.member.sessions }));
    this.memberChecker.sameState(ms);
  }

  traceLines(): string[] {
    return this.trace ?? [];
  }
}

export function runSeed(opts: SimOptions): Promise<SimResult> {
  return new Simulation(opts.seed, opts).run();
}
