/**
 * RawNode: the Ready/advance protocol around the Raft state machine (etcd's rawnode.go).
 * See index.ts for the contract with the runtime.
 */
import { assert } from '../util/assert.js';
import { encodeConfChange, validateConfChange, type ConfChange } from './confchange.js';
import { Raft, type ProposeResult, type RaftConfig, type Refusal } from './raft.js';
import type { LogStorage } from './storage.js';
import { NONE, type ConfState, type HardState, type Message, type NodeId, type Ready, type Role, type SoftState } from './types.js';
import type { ProgressState } from './progress.js';
import { MESSAGE_TYPES } from './types.js';

export interface RawNodeConfig extends RaftConfig {
  storage: LogStorage;
}

export interface ProgressStatus {
  id: NodeId;
  match: number;
  next: number;
  state: ProgressState;
  recentActive: boolean;
  /** Probe state: waiting for an answer before the next MsgApp. */
  paused: boolean;
  inflight: number;
}

export interface Status {
  id: NodeId;
  term: number;
  vote: NodeId;
  commit: number;
  applied: number;
  lastIndex: number;
  firstIndex: number;
  leader: NodeId;
  role: Role;
  confState: ConfState;
  leadTransferee: NodeId;
  /** The leader's view of each voter (leaders only). */
  progress?: ProgressStatus[];
}

export type Result = { ok: true } | { ok: false; reason: Refusal; leader: NodeId; detail?: string };

function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/**
 * True when every committed entry of `rd` is already durable in the local log, so the runtime
 * may apply them before writing `rd`'s own entries (at load nearly every Ready carries both).
 * Durable means at or below `durableLastIndex` and not about to be replaced: a Ready whose
 * entries overwrite a conflicting tail holds new entries at indices the disk still holds old
 * ones for, and an entry committed there is not on this disk yet.
 */
export function committedEntriesDurable(rd: Ready, durableLastIndex: number): boolean {
  if (rd.snapshot !== undefined || rd.committedEntries.length === 0) return false;
  const last = rd.committedEntries[rd.committedEntries.length - 1]!.index;
  return last <= durableLastIndex && (rd.entries.length === 0 || last < rd.entries[0]!.index);
}

export class RawNode {
  /** The state machine; exposed for tests and the simulator's checkers. Runtimes use the methods. */
  readonly raft: Raft;
  private readonly storage: LogStorage;
  private prevSoft: SoftState;
  private prevHard: HardState;
  private outstanding: Ready | undefined = undefined;
  private outstandingSendsEarly = false;

  constructor(c: RawNodeConfig) {
    this.raft = new Raft(c);
    this.storage = c.storage;
    this.prevSoft = { leader: this.raft.lead, role: this.raft.role };
    // What storage holds; a start-up fix-up of the term (see Raft) shows up in the first Ready.
    this.prevHard = c.storage.initialState().hardState;
  }

  get id(): NodeId {
    return this.raft.id;
  }

  tick(): void {
    this.raft.tick();
  }

  /** Campaign now (tests, or a runtime that wants a fast first election). */
  campaign(): void {
    this.raft.hup('preElection');
  }

  /** Feed a message received from another member. Malformed messages are dropped (warned). */
  step(m: Message): void {
    const why = validateMessage(m);
    if (why !== undefined) {
      this.raft.logger.warn(`${this.raft.id} dropped a malformed message: ${why}`);
      return;
    }
    if (m.to !== this.raft.id) {
      this.raft.logger.warn(`${this.raft.id} dropped ${m.type} for ${m.to}`);
      return;
    }
    this.raft.step(m);
  }

  /** Appends `data` as a new entry if this member is the leader (the runtime forwards otherwise). */
  propose(data: Uint8Array): ProposeResult {
    return this.raft.propose(data);
  }

  /** Proposes adding or removing one voter; one change at a time (see confchange.ts). */
  proposeConfChange(cc: ConfChange): ProposeResult {
    const r = this.raft;
    if (r.role !== 'leader') return { ok: false, reason: 'not-leader', leader: r.lead };
    if (r.pendingConfIndex > r.log.applied) {
      return { ok: false, reason: 'conf-change-pending', leader: r.id, detail: `a change at index ${r.pendingConfIndex} is not applied yet (applied ${r.log.applied})` };
    }
    const why = validateConfChange(r.confState, cc);
    if (why !== undefined) return { ok: false, reason: 'invalid-conf-change', leader: r.id, detail: why };
    const res = r.propose(encodeConfChange(cc), 'confChange');
    if (res.ok) r.pendingConfIndex = res.index;
    return res;
  }

  /** Requests a linearizable read; its ReadState (index, ctx) comes back in a later Ready. */
  readIndex(ctx: Uint8Array): Result {
    return this.raft.readIndex(ctx);
  }

  transferLeadership(to: NodeId): Result {
    return this.raft.transferLeadership(to);
  }

  /**
   * The runtime has strong evidence that `leader` is gone (its address refuses connections:
   * no process listens there). See Raft.forgetLeader.
   */
  forgetLeader(leader: NodeId): void {
    this.raft.forgetLeader(leader);
  }

  reportUnreachable(id: NodeId): void {
    this.raft.reportUnreachable(id);
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.reportSnapshot(id, ok);
  }

  /**
   * The application took a snapshot of its state as of applied index `index` (membership
   * `confState` as of that index, e.g. status().confState when index is the applied index):
   * the storage keeps it for lagging followers and the log drops the entries it covers.
   */
  compact(index: number, data: Uint8Array, confState: ConfState): void {
    const log = this.raft.log;
    assert(index <= log.applied, () => `compact at ${index} beyond applied ${log.applied}`);
    if (index <= this.storage.firstIndex() - 1) return; // nothing new
    assert(index <= this.storage.lastIndex(), () => `compact at ${index} beyond the durable log ${this.storage.lastIndex()}`);
    this.storage.createSnapshot(index, confState, data);
    this.raft.logger.info(`${this.raft.id} compacted the log through ${index}`);
    log.checkInvariants();
  }

  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    const r = this.raft;
    r.flushProposals();
    if (r.lead !== this.prevSoft.leader || r.role !== this.prevSoft.role) return true;
    const hs = { term: r.term, vote: r.vote, commit: r.log.committed };
    if (!hardStateEqual(hs, this.prevHard)) return true;
    if (r.log.unstable.snapshot !== undefined || r.log.unstable.entries.length > 0) return true;
    if (r.msgs.length > 0 || r.readStates.length > 0) return true;
    return r.log.hasNextCommittedEntries();
  }

  /** The next batch of work (see Ready in types.ts for the order to handle it in). */
  ready(): Ready {
    assert(this.outstanding === undefined, 'ready() called again before advance()');
    const r = this.raft;
    r.flushProposals();
    const rd: Ready = {
      entries: [...r.log.unstable.entries],
      committedEntries: r.log.nextCommittedEntries(),
      messages: r.msgs,
      readStates: r.readStates,
      mustSync: false,
    };
    if (r.log.unstable.snapshot !== undefined) rd.snapshot = r.log.unstable.snapshot;
    const soft: SoftState = { leader: r.lead, role: r.role };
    if (soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role) {
      rd.softState = soft;
      this.prevSoft = soft;
    }
    const hs: HardState = { term: r.term, vote: r.vote, commit: r.log.committed };
    if (!hardStateEqual(hs, this.prevHard)) {
      rd.hardState = hs;
      rd.mustSync = hs.term !== this.prevHard.term || hs.vote !== this.prevHard.vote;
      this.prevHard = hs;
    }
    this.outstandingSendsEarly = soft.role === 'leader' && !rd.mustSync && rd.snapshot === undefined;
    rd.mustSync = rd.mustSync || rd.entries.length > 0 || rd.snapshot !== undefined;
    r.msgs = [];
    r.readStates = [];
    if (rd.committedEntries.length > 0) r.log.applying = rd.committedEntries[rd.committedEntries.length - 1]!.index;
    this.checkReady(rd);
    this.outstanding = rd;
    return rd;
  }

  /**
   * True when the messages of the outstanding Ready `rd` may be sent before its entries and
   * hard state are durable: the member is the leader, and `rd` changes neither term nor vote
   * and carries no snapshot. Safe because a leader counts its own acknowledgement only once
   * its entries are persisted (persisted() at advance), so an entry still commits only when a
   * quorum holds it on disk: the leader writes to its disk in parallel with replicating (the
   * Raft thesis, 10.2.1; etcd's server does the same). Every other member's messages (votes,
   * MsgAppResp) vouch for durable state and must wait for the write.
   */
  sendableBeforePersist(rd: Ready): boolean {
    assert(this.outstanding === rd, 'sendableBeforePersist() of a Ready that is not the outstanding one');
    return this.outstandingSendsEarly;
  }

  /**
   * The runtime persisted `rd` (snapshot, entries, hard state), sent its messages and applied
   * its committed entries: record that, then the next Ready may be taken.
   */
  advance(rd: Ready): void {
    assert(this.outstanding === rd, 'advance() with a Ready that is not the outstanding one');
    this.outstanding = undefined;
    const r = this.raft;
    if (rd.snapshot !== undefined) {
      this.storage.applySnapshot(rd.snapshot);
      r.log.stableSnapTo(rd.snapshot.meta.index);
    }
    if (rd.entries.length > 0) {
      this.storage.append(rd.entries);
      const last = rd.entries[rd.entries.length - 1]!;
      r.log.stableTo(last.index, last.term);
    }
    if (rd.hardState !== undefined) this.storage.setHardState(rd.hardState);
    if (rd.snapshot !== undefined && rd.snapshot.meta.index > r.log.applied) r.log.appliedTo(rd.snapshot.meta.index);
    r.appliedEntries(rd.committedEntries);
    r.persisted();
    r.checkInvariants();
  }

  status(): Status {
    const r = this.raft;
    const s: Status = {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      firstIndex: r.log.firstIndex(),
      leader: r.lead,
      role: r.role,
      confState: { voters: [...r.confState.voters] },
      leadTransferee: r.leadTransferee,
    };
    if (r.role === 'leader') {
      s.progress = [];
      r.tracker.visit((id, pr) => {
        s.progress!.push({ id, match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive, paused: pr.msgAppFlowPaused, inflight: pr.inflights.count });
      });
    }
    return s;
  }

  private checkReady(rd: Ready): void {
    for (let i = 1; i < rd.entries.length; i++) assert(rd.entries[i]!.index === rd.entries[i - 1]!.index + 1, 'Ready entries not contiguous');
    for (let i = 1; i < rd.committedEntries.length; i++) assert(rd.committedEntries[i]!.index === rd.committedEntries[i - 1]!.index + 1, 'Ready committed entries not contiguous');
    if (rd.committedEntries.length > 0) {
      assert(rd.committedEntries[rd.committedEntries.length - 1]!.index <= this.raft.log.committed, 'Ready hands out uncommitted entries');
      assert(rd.committedEntries[0]!.index === this.raft.log.applied + 1 || rd.committedEntries[0]!.index === this.raft.log.firstIndex(), 'Ready committed entries do not follow the applied index');
    }
    for (const m of rd.messages) assert(m.from === this.raft.id && m.to !== this.raft.id && m.to !== NONE, () => `Ready message ${m.type} ${m.from}->${m.to}`);
  }
}

const TYPES = new Set<string>(MESSAGE_TYPES);

function isCount(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Why a message received from the network cannot be a message of ours, or undefined. */
export function validateMessage(m: Message): string | undefined {
  if (m === null || typeof m !== 'object') return 'not an object';
  if (!TYPES.has(m.type)) return `unknown type ${String(m.type)}`;
  for (const k of ['from', 'to', 'term', 'logTerm', 'index', 'commit', 'rejectHint'] as const) {
    if (!isCount(m[k])) return `${m.type}: bad ${k}`;
  }
  if (m.from === NONE || m.to === NONE) return `${m.type}: from/to 0`;
  if (typeof m.reject !== 'boolean') return `${m.type}: bad reject`;
  if (!Array.isArray(m.entries)) return `${m.type}: entries not an array`;
  let prev = m.index;
  for (const e of m.entries) {
    if (e === null || typeof e !== 'object' || !isCount(e.index) || !isCount(e.term)) return `${m.type}: bad entry`;
    if (e.type !== 'normal' && e.type !== 'confChange') return `${m.type}: bad entry type`;
    if (!(e.data instanceof Uint8Array)) return `${m.type}: entry data not bytes`;
    if (e.index !== prev + 1) return `${m.type}: entries not contiguous`;
    if (e.term > m.term) return `${m.type}: entry term above message term`;
    prev = e.index;
  }
  if (m.context !== undefined && !(m.context instanceof Uint8Array)) return `${m.type}: context not bytes`;
  if (m.type === 'MsgSnap') {
    const s = m.snapshot;
    if (s === undefined || s === null || typeof s !== 'object' || !isCount(s.meta?.index) || !isCount(s.meta?.term)) return 'MsgSnap: bad snapshot';
    if (!Array.isArray(s.meta.confState?.voters) || !s.meta.confState.voters.every((v) => isCount(v) && v > 0)) return 'MsgSnap: bad confState';
    if (!(s.data instanceof Uint8Array)) return 'MsgSnap: data not bytes';
    if (s.meta.term > m.term) return 'MsgSnap: snapshot term above message term';
  }
  return undefined;
}
