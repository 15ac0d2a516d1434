/**
 * The deterministic simulator of the Raft core (test code; lives in src/ so that
 * `npm run sim -- --seed=N` runs it from dist). One seed fixes everything: the cluster's
 * configuration (swarm testing: size, timeouts, batch and flow-control limits, PreVote and
 * CheckQuorum on or off, fault rates), the network's drops, duplicates, delays and
 * partitions, crashes and restarts with durable state only (disk.ts), the workload
 * (proposals, reads, compactions, leadership transfers, membership changes) and the order
 * in which members handle their Readys, including steps taken while a Ready is being
 * written.
 *
 * Phase 1 (safety): faults for `safetyTicks` ticks; after every step the SafetyChecker
 * runs. Phase 2 (liveness): every fault is healed and every crashed member restarted; the
 * cluster must elect a leader, commit a probe entry of its term and have every voter apply
 * everything committed, within `livenessTicks` ticks.
 */
import { AssertionFailure } from '../../src/util/assert.js';
import { decode, encode } from '../../src/util/codec.js';
import { Prng } from '../../src/util/prng.js';
import { MemoryLogStorage, RawNode, committedEntriesDurable, decodeConfChange, describeMessage, describeEntry, type ConfState, type Entry, type Message, type Ready, type Snapshot } from '../../src/raft/index.js';
import { SafetyChecker, SafetyViolation } from './checker.js';
import { SimDisk } from './disk.js';
import { SimNetwork, type NetConfig } from './network.js';

/** Sub-steps per tick: message delays and Ready handling have this resolution. */
const SUB = 4;

export interface SimOptions {
  seed: number;
  /** Ticks of the fault phase. Default 600. */
  safetyTicks?: number;
  /** Tick budget of the healed phase: this many ticks plus one per committed entry (a slow
   * configuration — one entry per message, one message in flight — may have to stream the
   * whole log to a member that was added or cut off). Default 300. */
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
  net: NetConfig;
  /** Per tick probabilities. */
  proposeRate: number;
  crashRate: number;
  /** Per tick: crash the current leader (leader changes are where Raft's subtle bugs live). */
  leaderCrashRate: number;
  /** Probability that a newly elected leader crashes within a few sub-steps (short-lived
   * leaders leave divergent uncommitted tails: the material of the paper's Figure 8). */
  freshLeaderCrash: number;
  /** Probability that a member crashes right after its commit index advanced (before it
   * can tell anyone): a generic "crash at an interesting moment" fault. */
  commitCrash: number;
  /** Probability that a member crashes while writing a Ready that holds entries (a prefix
   * of the write survives, its messages are never sent). */
  midWriteCrash: number;
  partitionRate: number;
  healRate: number;
  /** Per tick: heal every partition and restart every crashed member at once (a wave of
   * elections among members with divergent logs). */
  recoveryRate: number;
  compactRate: number;
  readRate: number;
  transferRate: number;
  confChangeRate: number;
  driftRate: number;
  /** Probability that a member takes its Ready in a sub-step when it has one. */
  takeRate: number;
  /** A Ready's write takes 0..readyDelayMax sub-steps (steps may happen meanwhile). */
  readyDelayMax: number;
  /** Messages go through msgpack (util/codec) on the way. */
  codec: boolean;
}

export interface SimResult {
  seed: number;
  config: SimConfig;
  /** Steps: message deliveries, ticks, Ready handlings and workload actions. */
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

export interface SimStats {
  /** Distinct terms that had a leader. */
  leaderTerms: number;
  snapshotsInstalled: number;
  /** Membership changes committed and applied (each counted once). */
  confChangesApplied: number;
  readsAnswered: number;
  transfers: number;
  /** Crashes while a Ready was being written (a prefix of it survived). */
  tornWrites: number;
  /** Restarts whose log held a term above the persisted hard state (the core's fix-up). */
  termFixups: number;
}

export function emptyStats(): SimStats {
  return { leaderTerms: 0, snapshotsInstalled: 0, confChangesApplied: 0, readsAnswered: 0, transfers: 0, tornWrites: 0, termFixups: 0 };
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
 * random, so that no fault masks another everywhere). A third of the seeds are "violent":
 * members, and leaders in particular, crash often and at awkward moments, which is what it
 * takes to build the divergent logs of the paper's Figure 8.
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
    maxSizePerMsg: pick([1, 64, 256, 1 << 20], [1, 1, 1, 64, 256]),
    maxInflightMsgs: prng.pick([1, 2, 4, 64]),
    maxInflightBytes: prng.pick([0, 0, 64, 512]),
    maxUncommittedEntriesSize: prng.pick([128, 1024, 1 << 20]),
    net: {
      dropRate: lossy ? prng.pick([0.01, 0.05, 0.1, 0.2]) : 0,
      dupRate: lossy ? prng.pick([0, 0.02, 0.1]) : 0,
      minDelay: 1,
      maxDelay: prng.pick([2, SUB, 2 * SUB]),
      longDelayRate: lossy ? prng.pick([0, 0.01, 0.05]) : 0,
      longDelayMax: 12 * SUB,
    },
    proposeRate: prng.pick([0.1, 0.3, 0.6]),
    crashRate: pick([0, 0.005, 0.02], [0.02, 0.05]),
    leaderCrashRate: pick([0, 0.02, 0.05], [0.05, 0.15]),
    freshLeaderCrash: pick([0, 0, 0.2], [0.3, 0.5]),
    commitCrash: pick([0, 0, 0.01], [0.05, 0.2]),
    midWriteCrash: pick([0, 0, 0.02], [0.05, 0.1]),
    partitionRate: prng.pick([0, 0.01, 0.03]),
    healRate: prng.pick([0.02, 0.05, 0.1]),
    recoveryRate: pick([0, 0.01], [0.01, 0.03]),
    compactRate: prng.pick([0, 0.02, 0.1]),
    readRate: prng.pick([0, 0.05, 0.2]),
    transferRate: prng.pick([0, 0, 0.01]),
    confChangeRate: prng.chance(0.3) ? prng.pick([0.01, 0.03]) : 0,
    driftRate: prng.pick([0, 0.02, 0.1]),
    takeRate: prng.pick([0.5, 0.9, 1]),
    readyDelayMax: prng.pick([0, 1, 3, 8]),
    codec: prng.chance(0.1),
  };
}

/** FNV-1a over (digest, entry): the application's state is the digest of what it applied. */
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

function snapshotData(index: number, hash: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, index);
  v.setUint32(4, hash);
  return b;
}

function parseSnapshotData(s: Snapshot): number {
  if (s.meta.index === 0) return 0;
  const v = new DataView(s.data.buffer, s.data.byteOffset, s.data.byteLength);
  if (v.getUint32(0) !== s.meta.index) throw new SafetyViolation(`snapshot data for ${v.getUint32(0)} in a snapshot at ${s.meta.index}`);
  return v.getUint32(4);
}

class Member {
  rn: RawNode | undefined = undefined;
  pending: { rd: Ready; at: number; sent: boolean } | undefined = undefined;
  deferredCompact: { index: number; data: Uint8Array; conf: ConfState } | undefined = undefined;
  up = false;
  /** Stopped for good: removed from the cluster. */
  removed = false;
  stopAt = -1;
  restartAt = -1;
  /** Sub-step at which to crash (a fresh leader), or -1. */
  crashAt = -1;
  /** The last term in which this member was seen leading. */
  ledTerm = 0;
  /** The commit index at the last check. */
  seenCommit = 0;
  /** The application: applied index, digest and membership as of it. */
  appIndex = 0;
  appHash = 0;
  appConf: ConfState = { voters: [] };
  readonly phase: number;

  constructor(
    readonly id: number,
    readonly disk: SimDisk,
    phase: number,
  ) {
    this.phase = phase;
  }
}

export class Simulation {
  readonly prng: Prng;
  readonly config: SimConfig;
  readonly net: SimNetwork;
  readonly checker = new SafetyChecker();
  readonly members = new Map<number, Member>();
  private readonly trace: string[] | undefined;
  private now = 0;
  private tick = 0;
  private steps = 0;
  private crashes = 0;
  private readonly stats = emptyStats();
  private readonly leaderTerms = new Set<number>();
  private readonly confIndexes = new Set<number>();
  private proposals = 0;
  private reads = 0;
  private nextId: number;
  private liveness = false;
  private probe: { index: number; term: number } | undefined = undefined;

  constructor(
    readonly seed: number,
    private readonly opts: SimOptions,
  ) {
    this.prng = new Prng(seed);
    this.config = configFor(this.prng.split());
    this.net = new SimNetwork(this.prng.split(), { ...this.config.net });
    this.net.onDrop = (msg) => this.dropped(msg);
    this.trace = opts.trace ? [] : undefined;
    const voters: number[] = [];
    for (let id = 1; id <= this.config.members; id++) voters.push(id);
    for (const id of voters) this.addMember(id, voters);
    this.nextId = this.config.members + 1;
  }

  private log(s: string): void {
    if (this.trace === undefined) return;
    this.trace.push(`t=${this.tick}.${this.now % SUB} ${s}`);
    if (this.trace.length > 4000) this.trace.splice(0, 1000);
  }

  private addMember(id: number, voters: number[]): Member {
    const m = new Member(id, new SimDisk(voters), this.prng.int(SUB));
    this.members.set(id, m);
    this.start(m);
    return m;
  }

  private start(m: Member): void {
    const d = m.disk.load();
    const storage = MemoryLogStorage.fromDisk({ hardState: d.hardState, snapshot: d.snapshot, entries: d.entries });
    const c = this.config;
    m.rn = new RawNode({
      id: m.id,
      storage,
      random: this.prng.split(),
      electionTick: c.electionTick,
      heartbeatTick: c.heartbeatTick,
      preVote: c.preVote,
      checkQuorum: c.checkQuorum,
      maxSizePerMsg: c.maxSizePerMsg,
      maxInflightMsgs: c.maxInflightMsgs,
      maxInflightBytes: c.maxInflightBytes,
      maxUncommittedEntriesSize: c.maxUncommittedEntriesSize,
      applied: d.snapshot.meta.index,
    });
    if (m.rn.raft.term > d.hardState.term) this.stats.termFixups++;
    m.up = true;
    m.pending = undefined;
    m.deferredCompact = undefined;
    m.restartAt = -1;
    m.appIndex = d.snapshot.meta.index;
    m.appHash = parseSnapshotData(d.snapshot);
    m.appConf = d.snapshot.meta.confState;
    if (m.appIndex > 0) this.checker.installed(m.id, m.appIndex, m.appHash);
    this.checker.restarted(m.id, m.rn.raft.log.committed);
    this.checker.persisted(m.id, d.entries, (i) => storage.term(i));
    this.log(`${m.id} started: term ${m.rn.raft.term} commit ${m.rn.raft.log.committed} log [${m.rn.raft.log.firstIndex()}, ${m.rn.raft.log.lastIndex()}]`);
    this.check(m);
  }

  private crash(m: Member, permanently: boolean): void {
    if (m.pending !== undefined) this.stats.tornWrites++;
    m.disk.crash(this.prng, m.pending?.rd);
    m.rn = undefined;
    m.pending = undefined;
    m.deferredCompact = undefined;
    m.up = false;
    m.crashAt = -1;
    m.seenCommit = 0;
    this.crashes++;
    // As the runtime: the crashed member's address now refuses connections, and the followers
    // that notice (not all: the network may be cut) forget it as their leader.
    for (const f of this.members.values()) {
      if (f.up && f.rn !== undefined && f.rn.raft.lead === m.id && this.prng.chance(0.5)) f.rn.forgetLeader(m.id);
    }
    if (permanently) {
      m.removed = true;
      this.log(`${m.id} stopped (removed)`);
    } else {
      m.restartAt = this.tick + this.prng.range(1, Math.round(this.prng.pick([0.3, 2, 8]) * this.config.electionTick));
      this.log(`${m.id} crashed, restarts at ${m.restartAt}`);
    }
  }

  private check(m: Member): void {
    this.steps++;
    const r = m.rn!.raft;
    this.checker.check(m.id, m.rn!);
    if (r.role === 'leader' && !this.leaderTerms.has(r.term)) {
      this.leaderTerms.add(r.term);
      this.stats.leaderTerms++;
    }
    if (this.liveness || m.crashAt >= 0) return;
    const c = this.config;
    if (r.role === 'leader' && r.term !== m.ledTerm) {
      m.ledTerm = r.term;
      if (this.prng.chance(c.freshLeaderCrash)) m.crashAt = this.now + this.prng.range(0, this.prng.pick([1, 4]) * SUB);
    }
    if (r.log.committed > m.seenCommit) {
      if (m.seenCommit > 0 && this.prng.chance(c.commitCrash)) m.crashAt = this.now + (this.prng.chance(0.5) ? 0 : this.prng.range(1, 2 * SUB));
      m.seenCommit = r.log.committed;
    }
  }

  // ---- the runtime's loop for one member ------------------------------------------------

  private deliver(msg: Message): void {
    const m = this.members.get(msg.to);
    if (m === undefined || !m.up) {
      this.dropped(msg);
      return;
    }
    this.log(`deliver ${describeMessage(msg)}`);
    m.rn!.step(msg);
    this.check(m);
    if (msg.type === 'MsgSnap') {
      // The runtime streamed the whole snapshot: the sender hears of the success.
      const s = this.members.get(msg.from);
      if (s !== undefined && s.up) s.rn!.reportSnapshot(msg.to, true);
    }
  }

  private dropped(msg: Message): void {
    const s = this.members.get(msg.from);
    if (s === undefined || !s.up) return;
    if (msg.type === 'MsgSnap') s.rn!.reportSnapshot(msg.to, false);
    else if (msg.type === 'MsgApp' && this.prng.chance(0.3)) s.rn!.reportUnreachable(msg.to);
  }

  private take(m: Member): void {
    const rd = m.rn!.ready();
    // As the runtime (cluster/raft-log.ts): a leader's messages leave before its write, and
    // committed entries already durable apply before it; a crash mid-write can't recall either.
    const sent = m.rn!.sendableBeforePersist(rd);
    if (sent) this.sendAll(rd);
    if (committedEntriesDurable(rd, m.rn!.raft.storage.lastIndex())) {
      for (const e of rd.committedEntries) {
        if (m.rn!.raft.storage.term(e.index) !== e.term) throw new SafetyViolation(`member ${m.id} applies entry ${e.index} (term ${e.term}) before it is durable`);
        this.applyEntry(m, e);
      }
    }
    if (!this.liveness && rd.entries.length > 0 && this.prng.chance(this.config.midWriteCrash)) {
      m.pending = { rd, at: this.now, sent };
      this.log(`${m.id} crashes while writing ${rd.entries.length} entries`);
      this.crash(m, false);
      return;
    }
    const d = this.liveness || this.config.readyDelayMax === 0 || this.prng.chance(0.5) ? 0 : this.prng.range(1, this.config.readyDelayMax);
    m.pending = { rd, at: this.now + d, sent };
    if (d === 0) this.complete(m);
  }

  private complete(m: Member): void {
    const { rd, sent } = m.pending!;
    m.pending = undefined;
    const rn = m.rn!;
    // 1. persist, 2. send, 3. apply, 4. reads, 5. advance.
    m.disk.write(rd);
    if (!sent) this.sendAll(rd);
    if (rd.snapshot !== undefined && rd.snapshot.meta.index > m.appIndex) {
      m.appIndex = rd.snapshot.meta.index;
      m.appHash = parseSnapshotData(rd.snapshot);
      m.appConf = rd.snapshot.meta.confState;
      this.checker.installed(m.id, m.appIndex, m.appHash);
      this.log(`${m.id} installed snapshot ${rd.snapshot.meta.term}/${rd.snapshot.meta.index}`);
      this.stats.snapshotsInstalled++;
    }
    for (const e of rd.committedEntries) this.applyEntry(m, e);
    for (const rs of rd.readStates) {
      this.checker.readAnswered(m.id, new TextDecoder().decode(rs.ctx), rs.index);
      this.stats.readsAnswered++;
    }
    rn.advance(rd);
    const storage = rn.raft.storage;
    this.checker.persisted(m.id, rd.entries, (i) => storage.term(i));
    const dc = m.deferredCompact;
    if (dc !== undefined && dc.index <= rn.raft.log.applied) {
      m.deferredCompact = undefined;
      this.compactTo(m, dc.index, dc.data, dc.conf, ' (deferred)');
    }
    this.check(m);
  }

  private sendAll(rd: Ready): void {
    for (const msg of rd.messages) {
      const out = this.config.codec ? (decode(encode(msg)) as Message) : msg;
      if (!this.net.send(this.now, out)) this.dropped(out);
    }
  }

  private applyEntry(m: Member, e: Entry): void {
    if (e.index <= m.appIndex) return; // covered by a snapshot installed meanwhile
    if (e.index !== m.appIndex + 1) throw new SafetyViolation(`member ${m.id} applies ${e.index} after ${m.appIndex}`);
    m.appIndex = e.index;
    m.appHash = digest(m.appHash, e);
    this.checker.applied(m.id, e, m.appHash);
    if (e.type === 'confChange') {
      const cc = decodeConfChange(e.data);
      m.appConf = { voters: cc.type === 'add' ? [...m.appConf.voters, cc.id].sort((a, b) => a - b) : m.appConf.voters.filter((v) => v !== cc.id) };
      this.log(`${m.id} applied ${describeEntry(e)}`);
      if (e.index > this.config.members && !this.confIndexes.has(e.index)) {
        this.confIndexes.add(e.index); // a membership change (not the bootstrap), counted once
        this.stats.confChangesApplied++;
      }
      if (cc.type === 'remove') {
        // The runtime stops a member once its removal has committed.
        const x = this.members.get(cc.id);
        if (x !== undefined && !x.removed && x.stopAt < 0) x.stopAt = this.tick + this.prng.range(0, 3 * this.config.electionTick);
      }
    }
  }

  // ---- the workload and the faults ------------------------------------------------------

  private upMembers(): Member[] {
    const out: Member[] = [];
    for (const m of this.members.values()) if (m.up) out.push(m);
    return out;
  }

  private leader(): Member | undefined {
    let best: Member | undefined;
    for (const m of this.members.values()) {
      if (!m.up || m.rn!.raft.role !== 'leader') continue;
      if (best === undefined || m.rn!.raft.term > best.rn!.raft.term) best = m;
    }
    return best;
  }

  private propose(m: Member): void {
    const n = this.prng.range(1, 3);
    for (let i = 0; i < n; i++) {
      const pad = this.prng.int(24);
      const text = `p${this.proposals++}` + 'x'.repeat(pad);
      const res = m.rn!.propose(new TextEncoder().encode(text));
      this.log(`propose ${text} at ${m.id}: ${res.ok ? `${res.term}/${res.index}` : res.reason}`);
    }
    this.check(m);
  }

  private actions(): void {
    const c = this.config;
    const p = this.prng;
    // Each action sees the effects of the previous ones (a crash, a new leader).
    let up = this.upMembers();
    let lead = this.leader();
    if (up.length > 0 && p.chance(c.proposeRate)) {
      // Mostly at a leader — any leader, also a stale one that has not heard of a newer term:
      // that is how logs diverge.
      const leaders = up.filter((m) => m.rn!.raft.role === 'leader');
      this.propose(leaders.length > 0 && p.chance(0.8) ? p.pick(leaders) : p.pick(up));
    }
    if (up.length > 0 && p.chance(c.crashRate)) this.crash(p.pick(up), false);
    lead = this.leader();
    if (lead !== undefined && p.chance(c.leaderCrashRate)) this.crash(lead, false);
    if (p.chance(c.partitionRate)) this.partition();
    if (this.net.partitioned && p.chance(c.healRate)) {
      this.net.heal();
      this.log('heal');
    }
    if (p.chance(c.recoveryRate)) {
      this.net.heal();
      for (const m of this.members.values()) if (!m.up && !m.removed && m.stopAt < 0) this.start(m);
      this.log('recovery: healed, all restarted');
    }
    up = this.upMembers();
    lead = this.leader();
    if (up.length > 0 && p.chance(c.compactRate)) this.compact(p.pick(up));
    if (up.length > 0 && p.chance(c.readRate)) {
      const m = p.pick(up);
      const ctx = `r${this.reads++}`;
      const res = m.rn!.readIndex(new TextEncoder().encode(ctx));
      if (res.ok) this.checker.readRequested(ctx);
      this.log(`read ${ctx} at ${m.id}: ${res.ok ? 'ok' : res.reason}`);
      this.check(m);
    }
    if (lead !== undefined && p.chance(c.transferRate)) {
      const voters = lead.rn!.raft.confState.voters.filter((v) => v !== lead!.id);
      if (voters.length > 0) {
        const to = p.pick(voters);
        const res = lead.rn!.transferLeadership(to);
        this.log(`transfer ${lead.id} -> ${to}: ${res.ok ? 'ok' : res.reason}`);
        if (res.ok) this.stats.transfers++;
        this.check(lead);
      }
    }
    if (lead !== undefined && p.chance(c.confChangeRate)) this.confChange(lead);
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

  private compact(m: Member): void {
    const rn = m.rn!;
    const first = rn.raft.log.firstIndex();
    if (m.appIndex < first + 2) return;
    const data = snapshotData(m.appIndex, m.appHash);
    // Entries applied ahead of their Ready's advance (see take()) can't be compacted yet: as
    // the runtime does, the compaction waits for the advance.
    if (m.appIndex > rn.raft.log.applied) {
      m.deferredCompact = { index: m.appIndex, data, conf: m.appConf };
      return;
    }
    this.compactTo(m, m.appIndex, data, m.appConf, '');
    this.check(m);
  }

  /** Compacts `m`'s log through `index` (its state `data`, membership `conf`) and keeps the snapshot on its disk. */
  private compactTo(m: Member, index: number, data: Uint8Array, conf: ConfState, note: string): void {
    const rn = m.rn!;
    if (index < rn.raft.log.firstIndex() + 2) return;
    rn.compact(index, data, conf);
    m.disk.saveSnapshot(rn.raft.storage.snapshot()!);
    this.log(`${m.id} compacted through ${index}${note}`);
  }

  private confChange(lead: Member): void {
    const rn = lead.rn!;
    const voters = rn.raft.confState.voters;
    const add = voters.length < 3 || (voters.length < 5 && this.prng.chance(0.5));
    if (add) {
      if (this.nextId > 9) return;
      const id = this.nextId;
      const res = rn.proposeConfChange({ type: 'add', id });
      this.log(`conf change at ${lead.id}: add ${id}: ${res.ok ? `${res.term}/${res.index}` : res.reason}`);
      if (res.ok) {
        this.nextId++;
        this.addMember(id, []);
      }
    } else {
      const id = this.prng.pick(voters);
      const res = rn.proposeConfChange({ type: 'remove', id });
      this.log(`conf change at ${lead.id}: remove ${id}: ${res.ok ? `${res.term}/${res.index}` : res.reason}`);
    }
    this.check(lead);
  }

  // ---- phases ----------------------------------------------------------------------------

  private heal(): void {
    this.liveness = true;
    this.net.heal();
    // A healthy network: no loss, and a constant delay, so links are FIFO as TCP is.
    this.net.config = { dropRate: 0, dupRate: 0, minDelay: 2, maxDelay: 2, longDelayRate: 0, longDelayMax: 2, fifo: true };
    for (const m of this.members.values()) {
      m.crashAt = -1;
      if (m.up || m.removed) continue;
      if (m.stopAt >= 0) m.removed = true;
      else this.start(m);
    }
    this.log('liveness phase: all healed');
  }

  /** Liveness: a leader whose probe entry is applied by every voter of its configuration. */
  private converged(): boolean {
    const lead = this.leader();
    if (lead === undefined) return false;
    const r = lead.rn!.raft;
    if (!r.committedEntryInCurrentTerm()) return false;
    if (this.probe === undefined || this.probe.term < r.term) {
      const res = lead.rn!.propose(new TextEncoder().encode(`probe@${r.term}`));
      if (res.ok) this.probe = { index: res.index, term: res.term };
      return false;
    }
    const c = this.checker.committedEntry(this.probe.index);
    if (c !== undefined && c.term !== this.probe.term) {
      this.probe = undefined; // lost with a leader change: propose again
      return false;
    }
    for (const v of r.confState.voters) {
      const m = this.members.get(v);
      if (m === undefined || !m.up || m.appIndex < this.probe.index) return false;
    }
    return this.checker.commitMax <= this.probe.index || r.confState.voters.every((v) => this.members.get(v)!.appIndex >= this.checker.commitMax);
  }

  private status(): string {
    const lines: string[] = [];
    for (const m of this.members.values()) {
      if (!m.up) {
        lines.push(`  ${m.id}: ${m.removed ? 'removed' : 'down'}`);
        continue;
      }
      const s = m.rn!.status();
      lines.push(`  ${m.id}: ${s.role} term=${s.term} lead=${s.leader} commit=${s.commit} applied=${s.applied} app=${m.appIndex} log=[${s.firstIndex},${s.lastIndex}] voters=(${s.confState.voters.join(',')})`);
    }
    return lines.join('\n');
  }

  run(): SimResult {
    const safety = this.opts.safetyTicks ?? 600;
    const base = this.opts.livenessTicks ?? 300;
    let budget = base;
    let convergeTicks = -1;
    try {
      for (this.tick = 0; this.tick < safety + budget; this.tick++) {
        if (this.tick === safety) {
          this.heal();
          // Catching up may mean shipping every entry any log holds at the heal, one per round
          // trip (maxSizePerMsg 1, maxInflightMsgs 1): uncommitted tails commit after the heal
          // too, so the bound counts the longest log, not only what was committed.
          let longest = this.checker.commitMax;
          for (const m of this.members.values()) if (m.up && m.rn !== undefined) longest = Math.max(longest, m.rn.raft.log.lastIndex());
          budget = base + longest;
        }
        this.runTick();
        if (this.liveness && this.converged()) {
          convergeTicks = this.tick - safety;
          break;
        }
      }
    } catch (e) {
      if (e instanceof SafetyViolation || e instanceof AssertionFailure) {
        throw new SimFailure(this.seed, `${e.name}: ${e.message} (tick ${this.tick})\n${this.status()}`, this.trace ?? []);
      }
      throw e;
    }
    if (convergeTicks < 0) {
      throw new SimFailure(this.seed, `liveness: no convergence within ${budget} ticks after healing\n${this.status()}`, this.trace ?? []);
    }
    let maxTerm = 0;
    for (const m of this.members.values()) if (m.up) maxTerm = Math.max(maxTerm, m.rn!.raft.term);
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
      checks: this.checker.checks,
    };
  }

  private runTick(): void {
    const c = this.config;
    for (let sub = 0; sub < SUB; sub++) {
      this.now = this.tick * SUB + sub;
      for (const msg of this.net.due(this.now)) this.deliver(msg);
      this.scheduledCrashes();
      for (const m of this.members.values()) {
        if (m.up && m.pending !== undefined && m.pending.at <= this.now) this.complete(m);
      }
      for (const m of this.members.values()) {
        if (!m.up || m.phase !== sub) continue;
        // Clock drift: a member's tick is sometimes late (skipped) or doubled.
        let n = 1;
        if (!this.liveness && this.prng.chance(c.driftRate)) n = this.prng.pick([0, 2]);
        for (let i = 0; i < n; i++) {
          m.rn!.tick();
          this.check(m);
        }
      }
      this.scheduledCrashes();
      for (const m of this.members.values()) {
        if (!m.up || m.pending !== undefined) continue;
        if (m.rn!.hasReady() && (this.liveness || this.prng.chance(c.takeRate))) this.take(m);
      }
    }
    for (const m of this.members.values()) {
      if (m.up && m.stopAt >= 0 && m.stopAt <= this.tick) this.crash(m, true);
    }
    if (!this.liveness) {
      for (const m of this.members.values()) {
        if (m.up || m.removed || m.restartAt < 0 || m.restartAt > this.tick) continue;
        if (m.stopAt >= 0) m.removed = true; // removed while it was down: it stays stopped
        else this.start(m);
      }
      this.actions();
    }
  }

  private scheduledCrashes(): void {
    if (this.liveness) return;
    for (const m of this.members.values()) if (m.up && m.crashAt >= 0 && m.crashAt <= this.now) this.crash(m, false);
  }

  traceLines(): string[] {
    return this.trace ?? [];
  }
}

export function runSeed(opts: SimOptions): SimResult {
  return new Simulation(opts.seed, opts).run();
}
