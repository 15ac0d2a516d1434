/**
 * The leader's view of one follower's log (etcd's tracker.Progress), and the tracker that
 * holds one per voter.
 *
 * States:
 * - probe: the leader does not know where the follower's log matches its own; it sends one
 *   MsgApp at a time (msgAppFlowPaused after each) and walks `next` back on rejections.
 * - replicate: the logs match up to `match`; the leader streams MsgApps optimistically
 *   (`next` runs ahead of `match`), bounded by `inflights`.
 * - snapshot: the follower needs a snapshot (its `next` was compacted away); nothing else is
 *   sent until the snapshot is reported done (then probe) or the follower acks past it.
 */
import { assert } from '../util/assert.js';
import { Inflights } from './inflights.js';
import { committedIndex, voteResult, type VoteResult } from './quorum.js';
import type { NodeId } from './types.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  /** Highest index known to be in the follower's (durable) log and matching ours. */
  match = 0;
  /** Next index to send. Invariant: match < next. */
  next: number;
  state: ProgressState = 'probe';
  /** Index of the snapshot being sent (snapshot state only). */
  pendingSnapshot = 0;
  /** Heard from since the last CheckQuorum round. */
  recentActive = false;
  /** Probe state: a MsgApp was sent and no answer seen yet; wait (a heartbeat response unpauses). */
  msgAppFlowPaused = false;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number, maxInflightBytes: number) {
    assert(next >= 1, `Progress next ${next}`);
    this.next = next;
    this.inflights = new Inflights(maxInflight, maxInflightBytes);
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  /** Forget everything (a new term): probe from `next`. */
  reset(next: number): void {
    this.resetState('probe');
    this.match = 0;
    this.next = next;
    this.recentActive = false;
    this.checkInvariants();
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
    this.checkInvariants();
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
    this.checkInvariants();
  }

  becomeSnapshot(snapshotIndex: number): void {
    assert(snapshotIndex > this.match, `snapshot ${snapshotIndex} not beyond match ${this.match}`);
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /**
   * A MsgApp carrying `count` entries from `first` (`bytes` of data) was sent. In replicate
   * state `next` moves past them optimistically; in probe state the flow pauses until an answer.
   */
  sentEntries(first: number, count: number, bytes: number): void {
    switch (this.state) {
      case 'replicate':
        if (count > 0) {
          assert(first === this.next, `sentEntries from ${first} but next is ${this.next}`);
          this.next = first + count;
          this.inflights.add(first + count - 1, bytes);
        }
        break;
      case 'probe':
        this.msgAppFlowPaused = true;
        break;
      case 'snapshot':
        assert(false, 'sentEntries in snapshot state');
    }
    this.checkInvariants();
  }

  /** An acknowledgement up to `n` arrived. Returns whether `match` moved. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    this.next = Math.max(this.next, n + 1);
    this.checkInvariants();
    return updated;
  }

  /**
   * The follower rejected a MsgApp whose preceding index was `rejected`; `matchHint` is where
   * (the leader computed from the follower's hint) the logs may agree. Returns false when the
   * rejection is stale (out of order) and must be ignored.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      // A rejection at or below match is stale: that part was acknowledged already.
      if (rejected <= this.match) return false;
      // Otherwise the optimistic stream went wrong: restart right after match.
      this.next = this.match + 1;
      this.checkInvariants();
      return true;
    }
    // Probe (or snapshot): only the rejection of the probe we sent (next - 1) counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.msgAppFlowPaused = false;
    this.checkInvariants();
    return true;
  }

  /** Whether the leader must hold off MsgApps to this follower for now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.msgAppFlowPaused;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  checkInvariants(): void {
    assert(this.match >= 0 && this.match < this.next, () => `progress match ${this.match} next ${this.next}`);
    assert(this.state === 'snapshot' || this.pendingSnapshot === 0, 'pendingSnapshot outside snapshot state');
    assert(this.state === 'replicate' || this.inflights.count === 0, 'inflights outside replicate state');
  }

  describe(): string {
    let s = `${this.state} match=${this.match} next=${this.next}`;
    if (this.state === 'snapshot') s += ` pendingSnap=${this.pendingSnapshot}`;
    if (this.msgAppFlowPaused) s += ' paused';
    if (this.inflights.count > 0) s += ` inflight=${this.inflights.count}`;
    if (this.inflights.full()) s += '[full]';
    return s;
  }
}

/** One Progress per voter of the current configuration, plus this round's votes. */
export class ProgressTracker {
  /** Sorted ascending; the configuration currently in effect. */
  voters: NodeId[] = [];
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();

  constructor(
    readonly maxInflight: number,
    readonly maxInflightBytes: number,
  ) {}

  isVoter(id: NodeId): boolean {
    return this.progress.has(id);
  }

  /** Replaces the voter set; keeps the Progress of voters that remain, creates the others at `next`. */
  setVoters(voters: readonly NodeId[], next: number): void {
    const sorted = [...voters].sort((a, b) => a - b);
    for (let i = 0; i < sorted.length; i++) {
      assert(Number.isInteger(sorted[i]) && sorted[i]! > 0, `bad voter id ${sorted[i]}`);
      assert(i === 0 || sorted[i - 1] !== sorted[i], `duplicate voter ${sorted[i]}`);
    }
    for (const id of [...this.progress.keys()]) {
      if (!sorted.includes(id)) this.progress.delete(id);
    }
    for (const id of sorted) {
      if (!this.progress.has(id)) {
        const pr = new Progress(next, this.maxInflight, this.maxInflightBytes);
        // A new member counts as active so that CheckQuorum does not step the leader down
        // before it had a chance to hear from it.
        pr.recentActive = true;
        this.progress.set(id, pr);
      }
    }
    this.voters = sorted;
  }

  get(id: NodeId): Progress | undefined {
    return this.progress.get(id);
  }

  /** Visits every Progress in ascending id order (deterministic). */
  visit(fn: (id: NodeId, pr: Progress) => void): void {
    for (const id of this.voters) fn(id, this.progress.get(id)!);
  }

  /** The highest index a majority of voters has acknowledged. */
  committed(): number {
    return committedIndex(this.voters, (id) => this.progress.get(id)?.match);
  }

  /** Whether a majority (counting `self`) was recently active; resets the flags for the next round. */
  quorumActive(self: NodeId): boolean {
    const active = new Map<NodeId, boolean>();
    this.visit((id, pr) => {
      active.set(id, id === self || pr.recentActive);
      if (id !== self) pr.recentActive = false;
    });
    return voteResult(this.voters, active) === 'won';
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records a vote (the first one from a member counts); returns the tally. */
  recordVote(id: NodeId, granted: boolean): { granted: number; rejected: number; result: VoteResult } {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    let g = 0;
    let r = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) g++;
      else if (v === false) r++;
    }
    return { granted: g, rejected: r, result: voteResult(this.voters, this.votes) };
  }
}
