/**
 * The Raft state machine: state, role transitions, ticks and the message dispatcher. The
 * role-specific handlers live in leader.ts and follower.ts; RawNode (rawnode.ts) wraps this
 * with the Ready/advance protocol. Pure and synchronous: time is tick(), randomness is the
 * injected source, output is the `msgs` outbox and the log.
 */
import { assert } from '../util/assert.js';
import { confStatesEqual, decodeConfChange, normalizeConfState } from './confchange.js';
import { RaftLog } from './log.js';
import { ProgressTracker } from './progress.js';
import { ReadOnly } from './readonly.js';
import { payloadSize, type LogStorage } from './storage.js';
import { NONE, type ConfState, type Entry, type EntryType, type Message, type MessageType, type NodeId, type ReadState, type Role } from './types.js';
import { stepLeader, bcastAppend, bcastHeartbeat, maybeCommit, sendAppend, sendTimeoutNow, releasePendingReadIndex, sendReadIndexResponse } from './leader.js';
import { stepCandidate, stepFollower } from './follower.js';

/** Where log lines go. The interaction tests print them; the runtime forwards them to its logger. */
export interface RaftLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
}

export const SILENT_LOGGER: RaftLogger = { debug() {}, info() {}, warn() {} };

/** The injected randomness (a util/prng Prng fits): an integer in [0, n). */
export interface RandomSource {
  int(n: number): number;
}

export interface RaftConfig {
  id: NodeId;
  storage: LogStorage;
  random: RandomSource;
  /** Ticks without hearing from a leader before a follower campaigns (randomized to [n, 2n)). Default 10. */
  electionTick?: number;
  /** Ticks between a leader's heartbeats. Default 1. Must be < electionTick. */
  heartbeatTick?: number;
  /** The application's applied index at start (default: the snapshot's index). */
  applied?: number;
  /** Upper bound of entry bytes (data + 16 per entry) in one MsgApp (at least one entry is always sent). Default 1 MiB. */
  maxSizePerMsg?: number;
  /** Upper bound of committed entry bytes (data + 16 per entry) handed out in one Ready (at least one). Default 8 MiB. */
  maxCommittedSizePerReady?: number;
  /** A leader refuses proposals once this many bytes of its log are uncommitted. Default 64 MiB. */
  maxUncommittedEntriesSize?: number;
  /** MsgApps in flight per follower in replicate state. Default 256. */
  maxInflightMsgs?: number;
  /** Bytes in flight per follower (0 = no limit). Default 32 MiB. */
  maxInflightBytes?: number;
  /** Pending linearizable reads on a leader. Default 4096. */
  maxPendingReads?: number;
  /** Default true. */
  preVote?: boolean;
  /** Default true. */
  checkQuorum?: boolean;
  logger?: RaftLogger;
}

/** The bytes that mark a vote as forced by a leadership transfer (it overrides the lease). */
export const TRANSFER_CONTEXT = new Uint8Array([0x74, 0x72, 0x61, 0x6e, 0x73, 0x66, 0x65, 0x72]); // "transfer"

export function isTransferContext(ctx: Uint8Array | undefined): boolean {
  if (ctx === undefined || ctx.length !== TRANSFER_CONTEXT.length) return false;
  for (let i = 0; i < ctx.length; i++) if (ctx[i] !== TRANSFER_CONTEXT[i]) return false;
  return true;
}

type CampaignKind = 'preElection' | 'election' | 'transfer';

export type Refusal =
  | 'not-leader'
  | 'no-leader'
  | 'transferring'
  | 'flow-control'
  | 'conf-change-pending'
  | 'invalid-conf-change'
  | 'not-a-member'
  | 'already-leader'
  | 'too-many-reads';

export type ProposeResult = { ok: true; index: number; term: number } | { ok: false; reason: Refusal; leader: NodeId; detail?: string };

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  role: Role = 'follower';
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  /** The configuration in effect: as of the applied index, or of a snapshot just received. */
  confState: ConfState;
  /** The log index `confState` reflects (conf changes at or below it are already in it). */
  confIndex: number;
  readonly readOnly: ReadOnly;
  /** Read requests that arrived before this leader committed an entry of its term. */
  pendingReadIndex: { from: NodeId; ctx: Uint8Array }[] = [];

  readonly electionTimeout: number;
  readonly heartbeatTimeout: number;
  randomizedElectionTimeout = 0;
  /** Follower/candidate: ticks since the last valid leader message (or campaign). Leader: ticks since the last CheckQuorum round. */
  electionElapsed = 0;
  heartbeatElapsed = 0;

  leadTransferee: NodeId = NONE;
  /** Index of the last conf change appended by this leader (or its last index at election). */
  pendingConfIndex = 0;
  /** Bytes of data of uncommitted entries this leader appended (flow control). */
  uncommittedSize = 0;

  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxSizePerMsg: number;
  readonly maxUncommittedSize: number;
  readonly random: RandomSource;
  readonly logger: RaftLogger;
  readonly storage: LogStorage;

  /** Outbox: messages to send once the next Ready is persisted. */
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  /** Set by propose(): broadcast the new entries once, when the next Ready is built (batching). */
  needsBcast = false;

  constructor(c: RaftConfig) {
    assert(Number.isSafeInteger(c.id) && c.id > 0, `raft id ${c.id}`);
    this.id = c.id;
    this.electionTimeout = c.electionTick ?? 10;
    this.heartbeatTimeout = c.heartbeatTick ?? 1;
    assert(this.heartbeatTimeout >= 1 && this.electionTimeout > this.heartbeatTimeout, `electionTick ${this.electionTimeout} must exceed heartbeatTick ${this.heartbeatTimeout}`);
    this.preVote = c.preVote ?? true;
    this.checkQuorum = c.checkQuorum ?? true;
    this.maxSizePerMsg = c.maxSizePerMsg ?? 1 << 20;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize ?? 64 << 20;
    this.random = c.random;
    this.logger = c.logger ?? SILENT_LOGGER;
    this.storage = c.storage;
    this.log = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? 8 << 20);
    this.tracker = new ProgressTracker(c.maxInflightMsgs ?? 256, c.maxInflightBytes ?? 32 << 20);
    this.readOnly = new ReadOnly(c.maxPendingReads ?? 4096);

    const { hardState, confState } = c.storage.initialState();
    this.confState = normalizeConfState(confState);
    this.tracker.setVoters(this.confState.voters, this.log.lastIndex() + 1);
    const snapIndex = this.log.firstIndex() - 1;
    this.confIndex = snapIndex;
    assert(hardState.commit <= this.log.lastIndex(), () => `${this.id} hard state commit ${hardState.commit} beyond last index ${this.log.lastIndex()}`);
    this.term = hardState.term;
    this.vote = hardState.vote;
    // A crash after a snapshot was persisted but before the hard state that followed it
    // leaves commit below the snapshot: the snapshot itself proves it committed.
    this.log.committed = Math.max(hardState.commit, snapIndex);
    const lastTerm = this.log.lastTerm();
    if (lastTerm > this.term) {
      // A crash between a Ready's entries and its hard state: the member never sent anything
      // in the newer term (messages go out after the whole Ready), so it may adopt it unvoted.
      this.logger.warn(`${this.id} log's last term ${lastTerm} is above hard state term ${this.term}: adopting it with no vote`);
      this.term = lastTerm;
      this.vote = NONE;
    }
    if (c.applied !== undefined && c.applied > this.log.applied) this.log.appliedTo(c.applied);
    this.becomeFollower(this.term, NONE);
    this.logger.info(
      `${this.id} started: term ${this.term}, vote ${this.vote}, commit ${this.log.committed}, applied ${this.log.applied}, ` +
        `log [${this.log.firstIndex()}, ${this.log.lastIndex()}] lastTerm ${this.log.lastTerm()}, voters (${this.confState.voters.join(',')})`,
    );
    this.checkInvariants();
  }

  // ---- role transitions -------------------------------------------------------------------

  private reset(term: number): void {
    if (term !== this.term) {
      assert(term > this.term, () => `${this.id} term going back ${this.term} -> ${term}`);
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = NONE;
    this.tracker.resetVotes();
    const next = this.log.lastIndex() + 1;
    this.tracker.visit((id, pr) => {
      pr.reset(next);
      if (id === this.id) pr.match = this.log.persistedLastIndex();
    });
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly.clear();
    this.pendingReadIndex = [];
    this.needsBcast = false;
  }

  resetRandomizedElectionTimeout(): void {
    const r = this.random.int(this.electionTimeout);
    assert(Number.isInteger(r) && r >= 0 && r < this.electionTimeout, `random source returned ${r}`);
    this.randomizedElectionTimeout = this.electionTimeout + r;
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.role = 'follower';
    this.lead = lead;
    this.logger.info(`${this.id} became follower at term ${this.term}` + (lead !== NONE ? ` (leader ${lead})` : ''));
  }

  becomePreCandidate(): void {
    assert(this.role !== 'leader', `${this.id} leader -> pre-candidate`);
    // Not a term change: term and vote stay, so a failed pre-election disturbs nobody.
    this.tracker.resetVotes();
    this.role = 'preCandidate';
    this.lead = NONE;
    this.logger.info(`${this.id} became pre-candidate at term ${this.term}`);
  }

  becomeCandidate(): void {
    assert(this.role !== 'leader', `${this.id} leader -> candidate`);
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
    this.logger.info(`${this.id} became candidate at term ${this.term}`);
  }

  becomeLeader(): void {
    assert(this.role === 'candidate', `${this.id} ${this.role} -> leader`);
    this.reset(this.term);
    this.role = 'leader';
    this.lead = this.id;
    const self = this.tracker.get(this.id)!;
    self.becomeReplicate();
    self.recentActive = true;
    // No conf change until everything in the log at election has been applied: a previous
    // leader's unapplied change may still be there (and see confchange.ts).
    this.pendingConfIndex = this.log.lastIndex();
    // The empty entry of this term: committing it commits every entry before it, and only
    // then may this leader serve reads (ReadIndex) or accept a conf change.
    const ok = this.appendEntries([{ type: 'normal', data: new Uint8Array(0) }]);
    assert(ok, 'a new leader must be able to append its empty entry');
    this.logger.info(`${this.id} became leader at term ${this.term}`);
  }

  // ---- ticks ------------------------------------------------------------------------------

  tick(): void {
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
    this.checkInvariants();
  }

  /**
   * A follower told by its runtime that its leader `leader` is gone forgets it, as etcd's
   * ForgetLeader does: with no known leader it is out of the leader's lease, so it grants
   * pre-votes at once instead of refusing them for an election timeout. It also brings its own
   * election forward, to 1..electionTimeout/3 ticks from now (random, so the followers that
   * all saw the leader go don't split the vote), rather than a whole timeout after the last
   * heartbeat. Safety does not depend on timing; a live leader whose link merely flapped keeps
   * its place, because the followers still in its lease refuse the pre-vote, and its next
   * heartbeat restores the leader here.
   */
  forgetLeader(leader: NodeId): void {
    if (this.role !== 'follower' || this.lead === NONE || this.lead !== leader) return;
    this.logger.info(`${this.id} [term ${this.term}] forgets leader ${leader}: its runtime reports it gone`);
    this.lead = NONE;
    const soon = 1 + this.random.int(Math.max(1, Math.floor(this.electionTimeout / 3)));
    this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - soon);
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup('preElection');
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum && !this.tracker.quorumActive(this.id)) {
        this.logger.info(`${this.id} stepped down to follower since quorum is not active`);
        this.becomeFollower(this.term, NONE);
        return;
      }
      if (this.leadTransferee !== NONE) {
        this.logger.info(`${this.id} [term ${this.term}] abandoned leadership transfer to ${this.leadTransferee}: timed out`);
        this.leadTransferee = NONE;
      }
    }
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      bcastHeartbeat(this);
    }
  }

  // ---- elections --------------------------------------------------------------------------

  /** Can this member become leader: a voter of its current configuration, with no pending snapshot. */
  promotable(): boolean {
    return this.tracker.isVoter(this.id) && this.log.unstable.snapshot === undefined;
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.log.applied >= this.log.committed) return false;
    const ents = this.log.slice(Math.max(this.log.applied + 1, this.log.firstIndex()), this.log.committed + 1, 0) ?? [];
    return ents.some((e) => e.type === 'confChange');
  }

  /** Starts an election (pre-election first when PreVote is on), if this member may. */
  hup(kind: CampaignKind): void {
    if (this.role === 'leader') {
      this.logger.debug(`${this.id} ignoring campaign: already leader`);
      return;
    }
    if (!this.promotable()) {
      this.logger.warn(`${this.id} is unpromotable and cannot campaign`);
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      this.logger.warn(`${this.id} cannot campaign at term ${this.term}: committed conf changes are not applied yet`);
      return;
    }
    this.logger.info(`${this.id} is starting a new election at term ${this.term}`);
    this.campaign(kind === 'preElection' && !this.preVote ? 'election' : kind);
  }

  private campaign(kind: CampaignKind): void {
    let voteType: MessageType;
    let term: number;
    if (kind === 'preElection') {
      this.becomePreCandidate();
      voteType = 'MsgPreVote';
      term = this.term + 1; // the term it would campaign for; its own term stays
    } else {
      this.becomeCandidate();
      voteType = 'MsgVote';
      term = this.term;
    }
    const { result } = this.tracker.recordVote(this.id, true);
    this.logger.info(`${this.id} received ${voteType}Resp from ${this.id} at term ${this.term}`);
    if (result === 'won') {
      // A single-member configuration wins at once.
      if (kind === 'preElection') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of this.tracker.voters) {
      if (id === this.id) continue;
      this.logger.info(`${this.id} [logterm: ${lastTerm}, index: ${lastIndex}] sent ${voteType} request to ${id} at term ${this.term}`);
      const m = this.newMessage(voteType, id, term);
      m.index = lastIndex;
      m.logTerm = lastTerm;
      if (kind === 'transfer') m.context = TRANSFER_CONTEXT;
      this.send(m);
    }
  }

  /** Counts a (pre)vote response; acts on the outcome. */
  poll(from: NodeId, type: MessageType, granted: boolean): void {
    const t = this.tracker.recordVote(from, granted);
    this.logger.info(`${this.id} received ${type} ${granted ? 'granted' : 'rejection'} from ${from} at term ${this.term}: ${t.granted} granted, ${t.rejected} rejected`);
    if (t.result === 'won') {
      if (this.role === 'preCandidate') this.campaign('election');
      else {
        this.becomeLeader();
        bcastAppend(this);
      }
    } else if (t.result === 'lost') {
      this.becomeFollower(this.term, NONE);
    }
  }

  // ---- messages ---------------------------------------------------------------------------

  newMessage(type: MessageType, to: NodeId, term: number): Message {
    return { type, from: this.id, to, term, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 };
  }

  /** Queues a message. Votes and their answers carry an explicit term; MsgReadIndex carries 0. */
  send(m: Message): void {
    assert(m.to !== this.id, () => `${this.id} sending ${m.type} to itself`);
    assert(m.to > 0, () => `${this.id} sending ${m.type} to nobody`);
    m.from = this.id;
    if (m.type === 'MsgVote' || m.type === 'MsgPreVote' || m.type === 'MsgVoteResp' || m.type === 'MsgPreVoteResp') {
      assert(m.term > 0, () => `${this.id} ${m.type} without a term`);
    } else if (m.type === 'MsgReadIndex') {
      m.term = 0;
    } else {
      m.term = this.term;
    }
    this.msgs.push(m);
  }

  /** Entry point for every message from another member. */
  step(m: Message): void {
    if (m.term === 0) {
      // Only a forwarded read request travels without a term.
      if (m.type !== 'MsgReadIndex') {
        this.logger.warn(`${this.id} dropped ${m.type} from ${m.from} without a term`);
        return;
      }
    } else if (m.term > this.term) {
      if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
        const force = isTransferContext(m.context);
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) {
          // Heard from a leader within an election timeout: do not help depose it (and do not
          // even take the higher term), so a rejoining partitioned member cannot disrupt.
          this.logger.info(
            `${this.id} [logterm: ${this.log.lastTerm()}, index: ${this.log.lastIndex()}, vote: ${this.vote}] ignored ${m.type} from ${m.from} ` +
              `[logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}: lease is not expired (remaining ticks: ${this.electionTimeout - this.electionElapsed})`,
          );
          return;
        }
      }
      if (m.type === 'MsgPreVote') {
        // Never change term on a pre-vote request.
      } else if (m.type === 'MsgPreVoteResp' && !m.reject) {
        // A granted pre-vote carries the future term; the term changes when the pre-election is won.
      } else {
        this.logger.info(`${this.id} [term: ${this.term}] received a ${m.type} message with higher term from ${m.from} [term: ${m.term}]`);
        const fromLeader = m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap';
        this.becomeFollower(m.term, fromLeader ? m.from : NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'MsgHeartbeat' || m.type === 'MsgApp')) {
        // A stale leader (e.g. one that was partitioned away): tell it about our term, else
        // with CheckQuorum/PreVote it might never learn it and keep a pointless lease.
        this.send(this.newMessage('MsgAppResp', m.from, this.term));
      } else if (m.type === 'MsgPreVote') {
        this.logger.info(
          `${this.id} [logterm: ${this.log.lastTerm()}, index: ${this.log.lastIndex()}, vote: ${this.vote}] rejected ${m.type} from ${m.from} ` +
            `[logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`,
        );
        const r = this.newMessage('MsgPreVoteResp', m.from, this.term);
        r.reject = true;
        this.send(r);
      } else if (m.type === 'MsgVote') {
        // The paper's rule (reply false with the current term so the candidate updates
        // itself), where etcd ignores the request. Ignoring can deadlock an election: a member
        // whose configuration is stale campaigns only to the voters it knows, so a candidate
        // it doesn't know never hears its higher term, and each stays below the other's term.
        // (Found by the simulator: a member partitioned through two membership changes.)
        this.logger.info(
          `${this.id} [logterm: ${this.log.lastTerm()}, index: ${this.log.lastIndex()}, vote: ${this.vote}] rejected ${m.type} from ${m.from} ` +
            `[logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}: its term ${m.term} is stale`,
        );
        const r = this.newMessage('MsgVoteResp', m.from, this.term);
        r.reject = true;
        this.send(r);
      } else {
        this.logger.debug(`${this.id} [term: ${this.term}] ignored a ${m.type} message with lower term from ${m.from} [term: ${m.term}]`);
      }
      this.checkInvariants();
      return;
    }

    if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
      this.handleVoteRequest(m);
    } else if (this.role === 'leader') {
      stepLeader(this, m);
    } else if (this.role === 'follower') {
      stepFollower(this, m);
    } else {
      stepCandidate(this, m);
    }
    this.checkInvariants();
  }

  private handleVoteRequest(m: Message): void {
    const canVote = this.vote === m.from || (this.vote === NONE && this.lead === NONE) || (m.type === 'MsgPreVote' && m.term > this.term);
    const respType: MessageType = m.type === 'MsgVote' ? 'MsgVoteResp' : 'MsgPreVoteResp';
    const desc = `${this.id} [logterm: ${this.log.lastTerm()}, index: ${this.log.lastIndex()}, vote: ${this.vote}]`;
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      this.logger.info(`${desc} cast ${m.type} for ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`);
      // A pre-vote answer carries the term asked for, so the pre-candidate recognises it.
      this.send(this.newMessage(respType, m.from, m.term));
      if (m.type === 'MsgVote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.logger.info(`${desc} rejected ${m.type} from ${m.from} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`);
      const r = this.newMessage(respType, m.from, this.term);
      r.reject = true;
      this.send(r);
    }
  }

  // ---- proposals and requests from the application ----------------------------------------

  /** Appends entries of this leader's term; false (nothing appended) when over the uncommitted budget. */
  appendEntries(ents: { type: EntryType; data: Uint8Array }[]): boolean {
    assert(this.role === 'leader', 'appendEntries on a non-leader');
    const size = ents.reduce((n, e) => n + e.data.byteLength, 0);
    // An empty log tail accepts any size, so a single huge proposal is never stuck.
    if (this.uncommittedSize > 0 && size > 0 && this.uncommittedSize + size > this.maxUncommittedSize) return false;
    this.uncommittedSize += size;
    let index = this.log.lastIndex();
    const full: Entry[] = ents.map((e) => ({ index: ++index, term: this.term, type: e.type, data: e.data }));
    this.log.append(full);
    this.needsBcast = true;
    return true;
  }

  propose(data: Uint8Array, type: EntryType = 'normal'): ProposeResult {
    assert(data instanceof Uint8Array, 'proposal data must be a Uint8Array');
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader', leader: this.lead };
    if (this.leadTransferee !== NONE) return { ok: false, reason: 'transferring', leader: this.lead, detail: `transferring leadership to ${this.leadTransferee}` };
    if (!this.appendEntries([{ type, data }])) return { ok: false, reason: 'flow-control', leader: this.lead, detail: `${this.uncommittedSize} bytes uncommitted` };
    return { ok: true, index: this.log.lastIndex(), term: this.term };
  }

  /** Broadcasts entries proposed since the last Ready (one MsgApp per follower for the batch). */
  flushProposals(): void {
    if (!this.needsBcast) return;
    this.needsBcast = false;
    if (this.role === 'leader') bcastAppend(this, false);
  }

  readIndex(ctx: Uint8Array): { ok: true } | { ok: false; reason: Refusal; leader: NodeId } {
    if (this.role === 'leader') {
      if (this.readOnly.full() || this.pendingReadIndex.length >= this.readOnly.maxPending) return { ok: false, reason: 'too-many-reads', leader: this.id };
      this.leaderReadIndex(this.id, ctx);
      return { ok: true };
    }
    if (this.lead === NONE) return { ok: false, reason: 'no-leader', leader: NONE };
    const m = this.newMessage('MsgReadIndex', this.lead, 0);
    m.context = ctx;
    this.send(m);
    return { ok: true };
  }

  /** A read request on the leader, its own or forwarded by `from`. */
  leaderReadIndex(from: NodeId, ctx: Uint8Array): void {
    if (!this.committedEntryInCurrentTerm()) {
      // Its commit index may still be behind what earlier leaders committed: wait for the
      // empty entry of this term to commit.
      if (this.pendingReadIndex.length < this.readOnly.maxPending) this.pendingReadIndex.push({ from, ctx });
      return;
    }
    sendReadIndexResponse(this, from, ctx);
  }

  committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  /** Hands a read index to the application (local request) or to the follower that forwarded it. */
  respondReadIndex(from: NodeId, ctx: Uint8Array, index: number): void {
    if (from === this.id || from === NONE) {
      this.readStates.push({ index, ctx });
      return;
    }
    const m = this.newMessage('MsgReadIndexResp', from, this.term);
    m.index = index;
    m.context = ctx;
    this.send(m);
  }

  transferLeadership(to: NodeId): { ok: true } | { ok: false; reason: Refusal; leader: NodeId } {
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader', leader: this.lead };
    if (to === this.id) return { ok: false, reason: 'already-leader', leader: this.id };
    if (!this.tracker.isVoter(to)) return { ok: false, reason: 'not-a-member', leader: this.id };
    if (this.leadTransferee === to) return { ok: true };
    if (this.leadTransferee !== NONE) this.logger.info(`${this.id} [term ${this.term}] abandoned transfer to ${this.leadTransferee} for ${to}`);
    this.logger.info(`${this.id} [term ${this.term}] starts to transfer leadership to ${to}`);
    // The transfer must finish within an election timeout (see tickHeartbeat).
    this.electionElapsed = 0;
    this.leadTransferee = to;
    const pr = this.tracker.get(to)!;
    if (pr.match === this.log.lastIndex()) sendTimeoutNow(this, to);
    else sendAppend(this, to);
    return { ok: true };
  }

  reportUnreachable(id: NodeId): void {
    if (this.role !== 'leader') return;
    const pr = this.tracker.get(id);
    if (pr === undefined) return;
    // The stream broke: messages in flight may be lost, so go back to probing.
    if (pr.state === 'replicate') pr.becomeProbe();
    this.logger.debug(`${this.id} failed to send message to ${id} because it is unreachable [${pr.describe()}]`);
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    if (this.role !== 'leader') return;
    const pr = this.tracker.get(id);
    if (pr === undefined || pr.state !== 'snapshot') return;
    if (!ok) pr.pendingSnapshot = 0; // probe again from match
    pr.becomeProbe();
    // Wait for the follower's MsgAppResp (success) or a heartbeat interval (failure) before
    // the next MsgApp.
    pr.msgAppFlowPaused = true;
    this.logger.debug(`${this.id} snapshot to ${id} ${ok ? 'succeeded' : 'failed'}, resumed sending [${pr.describe()}]`);
  }

  // ---- applying committed entries (called from RawNode.advance) ---------------------------

  /** The application applied `ents` (committed entries, in order): apply the conf changes among them. */
  appliedEntries(ents: readonly Entry[]): void {
    if (ents.length === 0) return;
    for (const e of ents) {
      if (e.type === 'confChange') this.applyConfChange(e);
    }
    this.log.appliedTo(ents[ents.length - 1]!.index);
    if (this.role === 'leader') this.uncommittedSize = Math.max(0, this.uncommittedSize - payloadSize(ents));
  }

  private applyConfChange(e: Entry): void {
    // Already part of a snapshot's configuration received after this entry was handed out.
    if (e.index <= this.confIndex) return;
    this.confIndex = e.index;
    const cc = decodeConfChange(e.data);
    const before = this.confState.voters;
    const after = normalizeConfState({ voters: cc.type === 'add' ? [...before, cc.id] : before.filter((v) => v !== cc.id) });
    // Each leader validated its change against the configuration it had applied, and only one
    // change is in flight, so an invalid one here means the log is broken.
    assert(cc.type === 'add' ? !before.includes(cc.id) : before.includes(cc.id) && before.length > 1, () => `${this.id} conf change at ${e.index} (${cc.type} ${cc.id}) invalid on (${before.join(',')})`);
    this.switchToConfig(after);
    this.logger.info(`${this.id} applied conf change ${cc.type} ${cc.id} at index ${e.index}: voters (${after.voters.join(',')})`);
  }

  switchToConfig(cs: ConfState): void {
    const before = this.confState;
    this.confState = normalizeConfState(cs);
    this.tracker.setVoters(this.confState.voters, this.log.lastIndex() + 1);
    if (this.role !== 'leader') return;
    if (!this.tracker.isVoter(this.id)) {
      // Removed: stop leading. The remaining members elect a new leader once their leases expire.
      this.logger.info(`${this.id} was removed from the configuration: stepping down`);
      this.becomeFollower(this.term, NONE);
      return;
    }
    if (maybeCommit(this)) {
      releasePendingReadIndex(this);
      bcastAppend(this);
    } else {
      for (const id of this.confState.voters) {
        if (id !== this.id && !before.voters.includes(id)) sendAppend(this, id);
      }
    }
    if (this.leadTransferee !== NONE && !this.tracker.isVoter(this.leadTransferee)) this.leadTransferee = NONE;
  }

  /** The entries up to (index, term) are durable: a leader counts its own acknowledgement. */
  persisted(): void {
    if (this.role !== 'leader') return;
    const self = this.tracker.get(this.id);
    if (self === undefined) return;
    if (self.maybeUpdate(this.log.persistedLastIndex()) && maybeCommit(this)) {
      releasePendingReadIndex(this);
      bcastAppend(this);
    }
  }

  /** Restores the configuration carried by a snapshot from the leader. */
  restoreConfig(cs: ConfState, index: number): void {
    assert(index >= this.confIndex, () => `${this.id} snapshot configuration at ${index} older than ${this.confIndex}`);
    this.confIndex = index;
    if (!confStatesEqual(cs, this.confState)) this.logger.info(`${this.id} configuration from snapshot: voters (${normalizeConfState(cs).voters.join(',')})`);
    this.confState = normalizeConfState(cs);
    this.tracker.setVoters(this.confState.voters, this.log.lastIndex() + 1);
  }

  // ---- invariants -------------------------------------------------------------------------

  checkInvariants(): void {
    this.log.checkInvariants();
    assert(this.term >= 0 && Number.isSafeInteger(this.term), `term ${this.term}`);
    assert(this.role !== 'leader' || this.lead === this.id, () => `${this.id} is leader but lead is ${this.lead}`);
    assert(this.role === 'leader' || this.lead !== this.id, () => `${this.id} is ${this.role} but lead is itself`);
    assert(this.role !== 'candidate' || this.vote === this.id, () => `${this.id} is candidate but voted for ${this.vote}`);
    assert(this.role !== 'leader' || this.vote === this.id, () => `${this.id} is leader but voted for ${this.vote}`);
    assert(this.role === 'leader' || this.leadTransferee === NONE, 'lead transferee on a non-leader');
    assert(this.log.lastTerm() <= this.term, () => `${this.id} last log term ${this.log.lastTerm()} above term ${this.term}`);
    assert(this.randomizedElectionTimeout >= this.electionTimeout && this.randomizedElectionTimeout < 2 * this.electionTimeout, 'randomized election timeout out of range');
  }
}
